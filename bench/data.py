"""The data the scenarios run on, written straight into the project's tables in bulk.

One INSERT ... SELECT FROM generate_series per user (no HTTP, no ORM), so 100,000 tasks take
about a second. Users share one bcrypt hash (cost 12, as the API makes them), so logging in
costs what it costs in production. Tokens come from the API's own login route.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import jwt
import psycopg
from sqlalchemy.engine import make_url

from todo_core import PageCursor, TaskSort

PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway account on a throwaway database
SMALL, LARGE, DEEP_OFFSET = 1_000, 100_000, 99_000
# The crowd: many users writing at once, each request the next one's (one user's writes commit
# one at a time, see todo_core.postgres.feed; the single-user scenarios measure that queue).
CROWD, CROWD_TASKS = 32, 8
CROWD_ROLES = tuple(f"crowd-{i}" for i in range(CROWD))
SORT = TaskSort.parse("-created_at")  # the API's default order
_ONE_SHOT = ("complete", "delete", "db_complete", "db_delete")

_INSERT_USER = """
INSERT INTO users (id, email, username, password_hash, name, created_at, updated_at)
VALUES (%(id)s, %(email)s, %(name)s, %(hash)s, %(name)s, now(), now())
"""
# Realistic rows: a title, a description, two tags, mixed priorities, distinct creation times.
_INSERT_TASKS = """
INSERT INTO tasks (id, user_id, title, description, priority, tags, created_at, updated_at)
SELECT gen_random_uuid(), %(user)s, 'Task number ' || g,
       'Something to do, written down so that it is not forgotten (' || g || ')',
       (ARRAY['low', 'medium', 'high'])[1 + g %% 3]::task_priority, ARRAY['bench', 'load'],
       now() - make_interval(secs => g), now() - make_interval(secs => g)
FROM generate_series(1, %(count)s) AS g
RETURNING id
"""
_NTH_ROW = """
SELECT created_at, id FROM tasks WHERE user_id = %(user)s
ORDER BY created_at DESC, id DESC OFFSET %(offset)s LIMIT 1
"""


# The template baseline's rows (bench/template.py): its `user` and `item` tables, in the same
# database. Only what its scenarios touch: `small` with the same 1,000 items (title and
# description of the same length as ours), `writer`, and the crowd's 32 users with 8 items
# each; what the create runs add is removed after each of them (see `reset_template_creates`).
# Its `item` has no index on owner_id, so each list scans the table: ours holds 100,000 more
# tasks, its table only these.
_INSERT_TEMPLATE_USER = """
INSERT INTO "user" (id, email, is_active, is_superuser, full_name, hashed_password, created_at)
VALUES (%(id)s, %(email)s, true, false, %(name)s, %(hash)s, now())
"""
_INSERT_TEMPLATE_ITEMS = """
INSERT INTO item (id, title, description, owner_id, created_at)
SELECT gen_random_uuid(), 'Task number ' || g,
       'Something to do, written down so that it is not forgotten (' || g || ')',
       %(user)s, now() - make_interval(secs => g)
FROM generate_series(1, %(count)s) AS g
RETURNING id
"""
TEMPLATE_ROLES = {"small": SMALL, "writer": 0} | dict.fromkeys(CROWD_ROLES, CROWD_TASKS)


@dataclass
class Dataset:
    """Users by role, their tokens, the id and token files the wrk script reads, the deep
    cursor."""

    users: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    id_files: dict[str, Path] = field(default_factory=dict)
    token_files: dict[str, Path] = field(default_factory=dict)
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    deep_cursor: str = ""

    def email(self, role: str) -> str:
        return f"{role}@bench.example"


def conninfo(database_url: str) -> str:
    """A psycopg connection string from the SQLAlchemy-style DATABASE_URL."""
    url = make_url(database_url)
    return psycopg.conninfo.make_conninfo(
        user=url.username or "",
        password=url.password or "",
        host=str(url.query.get("host") or url.host or ""),
        port=str(url.port or url.query.get("port") or ""),
        dbname=url.database or "",
    )


def prepare(
    database_url: str, workdir: Path, *, one_shot_ids: int, bcrypt_cost: int = 12
) -> Dataset:
    """Users `small` (1,000 tasks), `large` (100,000), `writer` (creates), `churn`: ids that
    the complete and delete scenarios, over HTTP and over raw psycopg, each use once, and the
    crowd (`crowd-0`...: a few tasks each; their files need tokens: `write_crowd_files`).
    `bcrypt_cost`: of the users' password hash, which sets what checking it costs a login."""
    data = Dataset()
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(bcrypt_cost)).decode()
    counts = {"small": SMALL, "large": LARGE, "writer": 0, "churn": len(_ONE_SHOT) * one_shot_ids}
    counts |= dict.fromkeys(CROWD_ROLES, CROWD_TASKS)
    with psycopg.connect(conninfo(database_url), autocommit=True) as connection:
        for role, count in counts.items():
            data.users[role] = uuid.uuid4()
            values = {"id": data.users[role], "email": data.email(role), "hash": password_hash}
            connection.execute(_INSERT_USER, {**values, "name": role})
            rows = connection.execute(_INSERT_TASKS, {"user": data.users[role], "count": count})
            data.ids[role] = [row[0] for row in rows]
        connection.execute("VACUUM ANALYZE tasks")  # no autovacuum waking mid-measurement
        data.deep_cursor = _cursor_at(connection, data.users["large"], DEEP_OFFSET)
    churn = data.ids.pop("churn")
    for index, name in enumerate(_ONE_SHOT):
        data.ids[name] = churn[index * one_shot_ids : (index + 1) * one_shot_ids]
    for name in ("small", "complete", "delete"):
        data.id_files[name] = workdir / f"{name}-ids.txt"
        data.id_files[name].write_text("".join(f"{task_id}\n" for task_id in data.ids[name]))
    return data


def _cursor_at(connection: psycopg.Connection, user: uuid.UUID, offset: int) -> str:
    row = connection.execute(_NTH_ROW, {"user": user, "offset": offset}).fetchone()
    assert row is not None, "the large user has fewer tasks than the deep offset"
    created_at: datetime = row[0]
    return PageCursor(SORT, created_at.astimezone(UTC), row[1]).encode()


def write_crowd_files(data: Dataset, workdir: Path, *, prefix: str = "") -> None:
    """The crowd's tokens (one a line) and its tasks with their owner's token ("<id> <token>"
    a line), users interleaved so that requests in a row belong to different users. `prefix`:
    the template's crowd (`template_`), whose keys are `template_role(...)`."""
    roles = [prefix + role for role in CROWD_ROLES]
    key = f"{prefix}crowd"
    data.token_files[key] = workdir / f"{key}-tokens.txt"
    data.token_files[key].write_text("".join(f"{data.tokens[role]}\n" for role in roles))
    lines = [
        f"{data.ids[role][i]} {data.tokens[role]}\n" for i in range(CROWD_TASKS) for role in roles
    ]
    data.id_files[key] = workdir / f"{key}-ids.txt"
    data.id_files[key].write_text("".join(lines))


def log_in(base_url: str, email: str) -> str:
    form = urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode()
    request = urllib.request.Request(base_url + "/api/v1/auth/login", data=form, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return str(json.load(answer)["access_token"])


def template_role(role: str) -> str:
    """The key of a template user in `Dataset.users`, `tokens`, `ids` and `id_files`."""
    return f"template_{role}"


def prepare_template(database_url: str, workdir: Path, data: Dataset, *, secret: str) -> None:
    """The template's users and items (its tables exist: `bench.template --create-tables`), and
    tokens with the claims its login issues (`exp` in 8 days, `sub` the user id), HS256."""
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()  # never used
    with psycopg.connect(conninfo(database_url), autocommit=True) as connection:
        for role, count in TEMPLATE_ROLES.items():
            key = template_role(role)
            data.users[key] = uuid.uuid4()
            values = {"id": data.users[key], "email": f"{role}@template.example", "name": role}
            connection.execute(_INSERT_TEMPLATE_USER, {**values, "hash": password_hash})
            rows = connection.execute(
                _INSERT_TEMPLATE_ITEMS, {"user": data.users[key], "count": count}
            )
            data.ids[key] = [row[0] for row in rows]
            expires = datetime.now(UTC) + timedelta(days=8)
            claims = {"exp": expires, "sub": str(data.users[key])}
            data.tokens[key] = jwt.encode(claims, secret, algorithm="HS256")
        connection.execute("VACUUM ANALYZE item")
    key = template_role("small")
    data.id_files[key] = workdir / f"{key}-ids.txt"
    data.id_files[key].write_text("".join(f"{item_id}\n" for item_id in data.ids[key]))
    write_crowd_files(data, workdir, prefix=template_role(""))


def reset_template_creates(database_url: str, data: Dataset) -> None:
    """Remove what a create run added to the template's table (the writer's items, the crowd's
    new ones): with no index on owner_id, its list would otherwise scan every item created so
    far, a cost growing with each round."""
    crowd = [template_role(role) for role in CROWD_ROLES]
    kept = [item for role in crowd for item in data.ids[role]]
    owners = [data.users[role] for role in [template_role("writer"), *crowd]]
    with psycopg.connect(conninfo(database_url), autocommit=True) as connection:
        connection.execute(
            "DELETE FROM item WHERE owner_id = ANY(%s) AND id <> ALL(%s)", (owners, kept)
        )
        connection.execute("VACUUM ANALYZE item")
