"""Turn whatever DATABASE_URL a person pastes into a SQLAlchemy URL for psycopg 3.

Accepts Neon's console string as it is (`postgresql://...-pooler...?sslmode=require&
channel_binding=require`, even wrapped in quotes), `postgres://`, `postgresql://` and the
`+psycopg`/`+asyncpg`/`+psycopg2` spellings. Refuses every other database: the product is
PostgreSQL only. Errors never carry the password; `masked()` is the form fit for a log.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from todo_core.errors import TodoError

_POSTGRES_SCHEMES = {"postgres", "postgresql"}
_DRIVER = "postgresql+psycopg"
_POOLER_MARKER = "-pooler"


class DatabaseUrlError(TodoError):
    """DATABASE_URL is missing, malformed or not PostgreSQL. The message never holds a secret."""


def normalize_database_url(raw: str | None, *, name: str = "DATABASE_URL") -> URL:
    if raw is None or not raw.strip():
        raise DatabaseUrlError(
            f"{name} is not set: set it to a PostgreSQL URL such as "
            "postgresql://USER:PASSWORD@HOST/DBNAME?sslmode=require"
        )
    text = raw.strip().strip("'\"")
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    backend = scheme.split("+", 1)[0]
    if not scheme:
        raise DatabaseUrlError(f"{name} is malformed: it has no scheme (expected postgresql://...)")
    if backend not in _POSTGRES_SCHEMES:
        raise DatabaseUrlError(
            f"{name} uses the '{backend}' scheme, but this application requires PostgreSQL "
            "(postgresql://USER:PASSWORD@HOST/DBNAME)"
        )
    try:
        url = make_url(_DRIVER + text[len(scheme) :])
    except (ArgumentError, ValueError) as error:
        raise DatabaseUrlError(f"{name} is malformed: it is not a valid URL") from error
    if not url.host and "host" not in url.query:
        raise DatabaseUrlError(f"{name} is malformed: it names no host")
    return _translate_asyncpg_options(url)


def _translate_asyncpg_options(url: URL) -> URL:
    # asyncpg-style URLs (seen in older configs) say ssl=require; libpq says sslmode=require.
    if "ssl" in url.query and "sslmode" not in url.query:
        return url.difference_update_query(["ssl"]).update_query_dict(
            {"sslmode": str(url.query["ssl"])}
        )
    return url


def masked(url: URL) -> str:
    """The URL with its password replaced by ***, for logs and messages."""
    return url.render_as_string(hide_password=True)


def is_pooled(url: URL) -> bool:
    """Neon's pooled endpoint (PgBouncer, transaction mode) has `-pooler` in its host name."""
    return _POOLER_MARKER in (url.host or "")


def direct_url(url: URL) -> URL:
    """The same database over Neon's direct endpoint: the host without `-pooler`."""
    if not is_pooled(url):
        return url
    assert url.host is not None
    return url.set(host=url.host.replace(_POOLER_MARKER, "", 1))
