"""The async SQLAlchemy engine on psycopg 3, with Neon's quirks handled.

Direct endpoint: the statement and lock timeouts travel in the startup `options`, free of
charge (the lock timeout, well below the statement timeout, bounds a wait for a row another
request is changing: StorageBusy instead of a connection held for 30 s).
Pooled endpoint (PgBouncer in transaction mode): startup `options` are refused and a session
`SET` would leak to other clients on the same server connection, so every transaction starts
with `SET LOCAL statement_timeout` and `lock_timeout` (the unit of work pipelines them with
its statements: see `link`); psycopg's automatic prepared statements are switched off,
because the next transaction may land on a server connection that never saw them.

Connection health, without a round trip per checkout: a connection back from the pool is
checked for free first (a server that ended the session while it sat idle - Neon's suspend
sends 57P01 and closes - has left something to read on its socket: it is replaced), and
pinged only if it has been idle for `ping_after_idle` seconds or more (a silently dropped
connection cannot be seen otherwise). A connection used a moment ago is healthy.

Pool: up to `pool_size + max_overflow` sessions for the units of work; overflow sessions are
closed on return, so the defaults keep all 15 of the seeds' sessions in the pool (15 + 0):
under load no session is opened per request (on Neon each costs a TLS handshake and SCRAM,
several round trips). Between units of work a connection stays warm, out of the pool (see
`warm`); the engine's own users get room of their own beside them.
"""

from __future__ import annotations

import select
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from todo_core.postgres.url import is_pooled

IDLE_SINCE = "idle_since"  # in a pooled connection's `info`: when it was last given back


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """Pool, connection and resilience settings: the one place their defaults live (the
    seeds', and Neon's advice)."""

    pool_size: int = 15  # the seeds' 5 + 10 sessions, none closed when returned
    max_overflow: int = 0
    pool_timeout: float = 30.0
    pool_recycle: int = 3600
    pool_pre_ping: bool = True  # check connections before use (for free, see above)
    ping_after_idle: float = 30.0  # seconds idle after which the check is a real ping
    connect_timeout: int = 10  # seconds; Neon advises at least 10
    statement_timeout_ms: int = 30_000
    lock_timeout_ms: int = 2_000  # a row-lock wait then gives up (StorageBusy)
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
    slots = options.pool_size + options.max_overflow  # the units of work's (see `resilience`)
    engine = create_async_engine(
        url,
        pool_size=options.pool_size,
        # As many again for the engine's own users (start-up, a library user's or a test's
        # own SQL): the units of work's connections stay checked out while warm (see `warm`),
        # and those users must not wait for them. Opened only when asked for, closed on return.
        max_overflow=options.max_overflow + slots,
        pool_timeout=options.pool_timeout,
        pool_recycle=options.pool_recycle,
        pool_pre_ping=False,  # `_check_on_checkout` instead: no round trip per checkout
        echo=options.echo,
        hide_parameters=True,  # SQL logs and errors never carry values (password hashes)
        connect_args=_connect_args(url, options, pooled=pooled),
    )
    if pooled:
        _set_timeouts_per_transaction(engine, options)
    if options.pool_pre_ping:
        _check_on_checkout(engine, options.ping_after_idle)
    return engine


def _check_on_checkout(engine: AsyncEngine, ping_after_idle: float) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
        # A connection back from the warm list has been idle since it was left there.
        record.info.setdefault(IDLE_SINCE, time.monotonic())

    @event.listens_for(engine.sync_engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None:
            return  # just opened
        if ended_by_server(dbapi_connection) or (
            time.monotonic() - idle_since >= ping_after_idle
            and not _answers_ping(engine, dbapi_connection)
        ):
            # The pool discards it and checks out another (a fresh one if need be).
            raise exc.DisconnectionError("the connection was closed while idle")


def ended_by_server(dbapi_connection: Any) -> bool:
    """An idle connection has nothing to read unless the server ended it (an error such as
    57P01 and EOF): a look at its socket, no round trip."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is None or driver.closed or driver.broken:
        return True
    try:
        readable, _, _ = select.select([driver.pgconn.socket], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _answers_ping(engine: AsyncEngine, dbapi_connection: Any) -> bool:
    try:
        return bool(engine.dialect.do_ping(dbapi_connection))
    except Exception:
        return False


def build_probe_engine(url: URL, options: EngineOptions) -> AsyncEngine:
    """A pool-less engine for the health probe: one short connection per check, outside the
    app's pool, so a full pool cannot make a healthy database look dead."""
    return create_async_engine(
        url,
        poolclass=NullPool,
        hide_parameters=True,
        connect_args=_connect_args(url, options, pooled=options.is_pooled(url)),
    )


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
        timeouts = (
            f"-c statement_timeout={int(options.statement_timeout_ms)}"
            f" -c lock_timeout={int(options.lock_timeout_ms)}"
        )
        args["options"] = f"{given} {timeouts} -c TimeZone=UTC".strip()
    return args


def _set_timeouts_per_transaction(engine: AsyncEngine, options: EngineOptions) -> None:
    # Both in one statement (set_config(..., true) is SET LOCAL), as one SET was.
    statement = (
        f"SELECT set_config('statement_timeout', '{int(options.statement_timeout_ms)}', true),"
        f" set_config('lock_timeout', '{int(options.lock_timeout_ms)}', true)"
    )

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
