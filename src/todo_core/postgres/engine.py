"""The async SQLAlchemy engine on psycopg 3, with Neon's quirks handled.

Direct endpoint: the statement timeout travels in the startup `options`, free of charge.
Pooled endpoint (PgBouncer in transaction mode): startup `options` are refused and a session
`SET` would leak to other clients on the same server connection, so every transaction starts
with `SET LOCAL statement_timeout`; psycopg's automatic prepared statements are switched off,
because the next transaction may land on a server connection that never saw them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from todo_core.postgres.url import is_pooled


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """Pool, connection and resilience settings: the one place their defaults live (the
    seeds', and Neon's advice)."""

    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = 3600
    pool_pre_ping: bool = True
    connect_timeout: int = 10  # seconds; Neon advises at least 10
    statement_timeout_ms: int = 30_000
    pooled: bool | None = None  # None: detect from the URL
    echo: bool = False
    circuit_pause: float = 1.0  # seconds a tripped circuit refuses new work

    def is_pooled(self, url: URL) -> bool:
        return is_pooled(url) if self.pooled is None else self.pooled

    def connect_deadline(self, url: URL) -> float:
        """The bound on getting a connection: the URL's own `connect_timeout` wins."""
        given = url.query.get("connect_timeout")
        return float(str(given)) if given else float(self.connect_timeout)


def build_engine(url: URL, options: EngineOptions) -> AsyncEngine:
    """The bare engine; `PostgresDatabase.from_url` pairs it with its connection policy."""
    pooled = options.is_pooled(url)
    engine = create_async_engine(
        url,
        pool_size=options.pool_size,
        max_overflow=options.max_overflow,
        pool_timeout=options.pool_timeout,
        pool_recycle=options.pool_recycle,
        pool_pre_ping=options.pool_pre_ping,
        echo=options.echo,
        hide_parameters=True,  # SQL logs and errors never carry values (password hashes)
        connect_args=_connect_args(url, options, pooled=pooled),
    )
    if pooled:
        _set_timeout_per_transaction(engine, options.statement_timeout_ms)
    return engine


def _connect_args(url: URL, options: EngineOptions, *, pooled: bool) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        args["connect_timeout"] = options.connect_timeout
    if pooled:
        args["prepare_threshold"] = None
    else:
        # TimeZone=UTC: psycopg then hands back datetimes already in `datetime.UTC`, which
        # the domain takes without converting (a list reads hundreds of them).
        given = str(url.query.get("options", ""))
        timeout = f"-c statement_timeout={options.statement_timeout_ms}"
        args["options"] = f"{given} {timeout} -c TimeZone=UTC".strip()
    return args


def _set_timeout_per_transaction(engine: AsyncEngine, timeout_ms: int) -> None:
    statement = f"SET LOCAL statement_timeout = {int(timeout_ms)}"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # On the driver's cursor, below SQLAlchemy's statement events: it is plumbing of the
        # transaction, not one of the unit of work's statements (which tests count).
        cursor = connection.connection.cursor()
        try:
            cursor.execute(statement)
        except psycopg.Error as error:
            # Below SQLAlchemy means its error handling too: a connection that fails its very
            # first statement is broken (a suspend, a pooler error), so drop it from the pool.
            connection.invalidate(error)
            raise exc.DBAPIError.instance(
                statement, None, error, psycopg.Error, connection_invalidated=True
            ) from error
        finally:
            cursor.close()
