"""Getting a usable connection when the database may be suspended, waking up, or gone.

- Bounded: checkout, pre-ping and the first round trip (`SET LOCAL statement_timeout` through
  the pooler) must finish within the connect timeout. A transaction-mode PgBouncer accepts the
  client at once and then queues its first statement until a server connection exists: with
  the database down that is `query_wait_timeout` (120 s) of silence, which would hold a request
  and a pool slot all that time. Neon's cold start (a few seconds) fits well inside the bound.
- Retried once: a connection cut between checkout and its first statement (a suspend, 57P01)
  is replaced by a fresh one without the caller seeing it.
- Slots counted: a request first waits (at most `slot_wait`) for one of the pool's
  connections; running out of them is StorageBusy (the database is fine, everyone is using
  it), never StorageUnavailable, so it neither trips the circuit nor reads as an outage.
- Short-circuited: after a failure, new requests fail at once for a moment instead of each
  waiting out the bound, so an outage answers 503 quickly; the first try after the pause
  either finds the database back (and closes the circuit) or opens it again.

The guard holds the slots and the breaker; the unit of work applies the bound and the retry
to its first round trip, checkout included (see `unit_of_work`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from todo_core.errors import StorageBusy, StorageUnavailable
from todo_core.postgres.translate import storage_errors


@dataclass(kw_only=True)
class Breaker:
    pause: float  # seconds a tripped circuit refuses new work
    _open_until: float = field(default=0.0, init=False)

    def check(self) -> None:
        if time.monotonic() < self._open_until:
            raise StorageUnavailable()

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.pause

    def close(self) -> None:
        self._open_until = 0.0


@dataclass(frozen=True, kw_only=True)
class ConnectionGuard:
    """How one engine hands out connections; every field is chosen by the one factory
    (`PostgresDatabase.from_url`), none is a default."""

    deadline: float  # seconds for checkout, pre-ping and the first round trip
    breaker: Breaker  # one per engine, so all its units of work share it
    slots: asyncio.Semaphore  # as many as the pool has connections
    slot_wait: float  # seconds a request may wait for one (the pool timeout)

    async def enter(self) -> None:
        """Take one of the pool's slots before checking a connection out: refused at once
        while the circuit is open, StorageBusy if none frees within `slot_wait`. `leave()`
        gives it back."""
        self.breaker.check()
        if not self.slots.locked():  # the common case: no timer to arm and cancel
            await self.slots.acquire()
            return
        try:
            async with asyncio.timeout(self.slot_wait):
                await self.slots.acquire()
        except TimeoutError:
            raise StorageBusy() from None

    def leave(self) -> None:
        self.slots.release()

    @property
    def busy(self) -> bool:
        """Every slot is taken: a new request would wait for one."""
        return self.slots.locked()


async def check_out_driver(engine: AsyncEngine) -> PoolProxiedConnection:
    """A pooled connection for the driver-level `Link`, in autocommit. It bypasses SQLAlchemy's
    Connection, whose per-checkout work (events, isolation level, transaction bookkeeping) cost
    more CPU than the statement it carried; the pool's own checkout events (the idle check in
    `engine`) still run. StorageUnavailable if no connection can be had."""
    with storage_errors():
        pooled = await engine.raw_connection()
        try:
            await _driver(pooled).set_autocommit(True)
        except BaseException:
            await give_back(pooled, broken=True)
            raise
    return pooled


async def give_back(pooled: PoolProxiedConnection, *, broken: bool = False) -> None:
    """Back to the pool out of autocommit, as the pool hands connections out; a broken one is
    closed (the pool opens a fresh one in its place when next asked)."""
    driver = _driver(pooled)
    if not broken and not driver.broken:
        try:
            await driver.set_autocommit(False)
        except psycopg.Error:
            broken = True
    # The pool's check-in (its reset on return) runs driver calls through SQLAlchemy's
    # greenlet bridge, as its own AsyncConnection.close() does.
    with contextlib.suppress(Exception):
        await greenlet_spawn(pooled.invalidate if broken or driver.broken else pooled.close)


def _driver(pooled: PoolProxiedConnection) -> psycopg.AsyncConnection[Any]:
    driver = pooled.driver_connection
    assert isinstance(driver, psycopg.AsyncConnection)
    return driver


async def open_connection(
    engine: AsyncEngine, deadline: float, *, autocommit: bool = False
) -> AsyncConnection:
    """Check out, pre-ping and begin within `deadline` seconds; StorageUnavailable otherwise.

    A late attempt is abandoned rather than awaited: cancelling a query psycopg has sent makes
    it wait up to 5 s more for the server to confirm, and through a pooler with no server
    nobody ever confirms. The attempt winds down in the background and returns its
    connection to the pool."""
    attempt = asyncio.ensure_future(_open(engine, autocommit))
    try:
        done, _ = await asyncio.wait({attempt}, timeout=deadline)
    except asyncio.CancelledError:
        _abandon(attempt)
        raise
    if not done:
        _abandon(attempt)
        raise StorageUnavailable() from TimeoutError(f"no connection within {deadline} s")
    return attempt.result()


async def _open(engine: AsyncEngine, autocommit: bool) -> AsyncConnection:
    connection = engine.connect()
    try:
        with storage_errors():
            await connection.start()
            if autocommit:  # client-side switch: no round trip now, no ROLLBACK at the end
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                await connection.begin()
    except BaseException:
        await _discard(connection)
        raise
    return connection


_winding_down: set[asyncio.Future[Any]] = set()  # strong references until they finish


def _abandon(attempt: asyncio.Future[AsyncConnection]) -> None:
    _winding_down.add(attempt)
    attempt.add_done_callback(_close_when_done)
    attempt.cancel()


def _close_when_done(attempt: asyncio.Future[AsyncConnection]) -> None:
    _winding_down.discard(attempt)
    if attempt.cancelled() or attempt.exception() is not None:
        return  # `_open` already gave its connection back
    closing = asyncio.ensure_future(_discard(attempt.result()))  # it finished just too late
    _winding_down.add(closing)
    closing.add_done_callback(_winding_down.discard)


async def _discard(connection: AsyncConnection) -> None:
    # A broken connection is invalidated by the pool anyway; closing it may fail as well.
    with contextlib.suppress(Exception):
        await connection.close()
