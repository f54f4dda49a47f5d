"""Driver connections kept warm between units of work, in front of SQLAlchemy's pool.

SQLAlchemy's pool owns the connections: it opens them, checks one that comes out after a
long idle (a ping), recycles old ones and closes overflow. But its checkout and check-in
(the greenlet bridge, its events, its reset, psycopg's autocommit switched on and off) cost
about a quarter of a request's CPU in the worker: measured in-process, a get went from
370 to 277 us, a create from 540 to 420, an update from 755 to 580 without them. So a
connection a unit of work gives back healthy, idle and in autocommit waits here, and the
next unit of work takes it as it is.

Taken only as the pool's own checkout would hand it out (see `engine`): idle for less than
`keep_for` (the ping threshold: a connection used a moment ago is healthy) and nothing on
its socket (a server that ended the session while it sat idle - Neon's suspend sends 57P01
and closes - has left something to read); one that was ended is closed. One idle longer
goes back to the pool (the oldest first, whenever a unit of work asks), which then checks
it as before: its idle time is carried over, so a long idle is still a ping, and an
overflow connection is closed. And a connection goes back to the pool at least every
`keep_for` seconds, so the pool's recycling still reaches connections that are never idle.

The warm list never holds more than the units of work's slots (a connection is checked out
of the pool only when the list is empty, inside a slot), so it opens no session the pool
would not have.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

from todo_core.postgres.engine import IDLE_SINCE, ended_by_server
from todo_core.postgres.resilience import check_out_driver, give_back

_OUT_SINCE = "out_of_pool_since"  # in a pooled connection's `info`


@dataclass(eq=False, kw_only=True)
class WarmConnections:
    engine: AsyncEngine
    keep_for: float  # seconds: the ping threshold
    _idle: deque[PoolProxiedConnection] = field(default_factory=deque, init=False)

    async def take(self) -> PoolProxiedConnection:
        """A driver connection in autocommit: the last one given back if it is fit to use
        now, else one from the pool (StorageUnavailable if none can be had)."""
        now = time.monotonic()
        while self._idle and now - self._idle[0].info[IDLE_SINCE] >= self.keep_for:
            # The oldest, idle past the threshold: back to the pool, its idle time with it,
            # so the pool pings it when it next hands it out (and closes it if overflow).
            await _retire(self._idle.popleft())
        while self._idle:
            pooled = self._idle.pop()  # the most recent: the others age out to the pool
            del pooled.info[IDLE_SINCE]
            if not ended_by_server(pooled.dbapi_connection):
                return pooled
            await _retire(pooled, broken=True)
        pooled = await check_out_driver(self.engine)
        pooled.info[_OUT_SINCE] = time.monotonic()
        return pooled

    async def give(self, pooled: PoolProxiedConnection, *, broken: bool = False) -> None:
        """Back from a unit of work: kept warm if it is healthy, idle and in autocommit,
        and has not been out of the pool for `keep_for` seconds; else back to the pool (a
        broken one closed)."""
        now = time.monotonic()
        fresh = now - pooled.info.get(_OUT_SINCE, now) < self.keep_for
        if not broken and fresh and _idle_in_autocommit(pooled):
            pooled.info[IDLE_SINCE] = now
            self._idle.append(pooled)
            return
        await give_back(pooled, broken=broken)

    @property
    def count(self) -> int:
        return len(self._idle)

    async def drain(self) -> None:
        """Every warm connection back to the pool (before the pool is disposed of)."""
        while self._idle:
            await give_back(self._idle.pop())


_retiring: set[asyncio.Future[None]] = set()  # strong references until they finish


async def _retire(pooled: PoolProxiedConnection, *, broken: bool = False) -> None:
    # Finished even if the request that found it is cancelled meanwhile: a connection half
    # given back would stay checked out of the pool for good.
    retiring = asyncio.ensure_future(give_back(pooled, broken=broken))
    _retiring.add(retiring)
    retiring.add_done_callback(_retiring.discard)
    await asyncio.shield(retiring)


def _idle_in_autocommit(pooled: PoolProxiedConnection) -> bool:
    driver = pooled.driver_connection
    return (
        isinstance(driver, psycopg.AsyncConnection)
        and not driver.closed
        and not driver.broken
        and driver.autocommit
        and driver.info.transaction_status == TransactionStatus.IDLE
    )
