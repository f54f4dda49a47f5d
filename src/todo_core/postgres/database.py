"""The PostgreSQL adapter as one explicit object: the engine, its connection guard (deadline
and circuit breaker) and its transaction policy (reads in autocommit on a direct endpoint, in
a transaction behind a pooler), built together from `EngineOptions` by one factory, handed to
the unit-of-work factory and the health probe, and disposed of once by whoever built it.

Nothing connects when it is built; nothing is registered anywhere on the side.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

from todo_core.postgres.engine import EngineOptions, build_engine, build_probe_engine
from todo_core.postgres.resilience import (
    Breaker,
    ConnectionGuard,
    open_connection,
)
from todo_core.postgres.warm import WarmConnections


@dataclass
class AcquireStats:
    """Units of work waiting for a pooled connection's slot now: for metrics."""

    waiting: int = 0


@dataclass(frozen=True, kw_only=True, eq=False)
class PostgresDatabase:
    engine: AsyncEngine
    guard: ConnectionGuard
    warm: WarmConnections  # the driver connections between units of work
    # Behind a pooler the statement timeout is `SET LOCAL` in each round trip's transaction
    # (see `link`); on the direct endpoint it travels in the startup options (None here).
    timeout_per_transaction_ms: int | None = None
    stats: AcquireStats = field(default_factory=AcquireStats)
    lock_timeout_per_transaction_ms: int | None = None  # likewise
    # The health probe's own small path (no pool): it still reaches the database when every
    # pooled connection is taken, so /health can tell "busy" from "unreachable".
    probe_engine: AsyncEngine | None = None

    @classmethod
    def from_url(cls, url: URL, options: EngineOptions) -> PostgresDatabase:
        """The engine and its guard, from one set of options (connects to nothing)."""
        guard = ConnectionGuard(
            deadline=options.connect_deadline(url),
            breaker=Breaker(pause=options.circuit_pause),
            slots=asyncio.Semaphore(options.pool_size + options.max_overflow),
            slot_wait=options.pool_timeout,
        )
        pooled = options.is_pooled(url)
        engine = build_engine(url, options)
        return cls(
            engine=engine,
            guard=guard,
            warm=WarmConnections(engine=engine, keep_for=options.ping_after_idle),
            timeout_per_transaction_ms=options.statement_timeout_ms if pooled else None,
            lock_timeout_per_transaction_ms=options.lock_timeout_ms if pooled else None,
            probe_engine=build_probe_engine(url, options),
        )

    async def enter(self) -> None:
        """A slot for one unit of work, before its connection is checked out (see the guard):
        StorageBusy when the pool stays full, StorageUnavailable at once while the circuit is
        open. Every `enter` is paired with one `leave`."""
        self.stats.waiting += 1
        try:
            await self.guard.enter()
        finally:
            self.stats.waiting -= 1

    def leave(self) -> None:
        self.guard.leave()

    async def check_out(self) -> PoolProxiedConnection:
        """A pooled driver connection in autocommit (inside a slot from `enter`): the `Link`'s."""
        return await self.warm.take()

    async def give_back(self, pooled: PoolProxiedConnection, *, broken: bool = False) -> None:
        await self.warm.give(pooled, broken=broken)

    @property
    def in_use(self) -> int:
        """Connections units of work hold now (the warm ones are checked out of the pool
        too, but free)."""
        checked_out: int = getattr(self.engine.pool, "checkedout", lambda: 0)()
        return checked_out - self.warm.count

    @property
    def busy(self) -> bool:
        """Every pooled connection is in use: new requests queue for one."""
        return self.guard.busy

    async def connect_once(self) -> AsyncConnection:
        """One bounded attempt at a connection in a transaction, outside the breaker: for
        start-up, which does its own retrying."""
        return await open_connection(self.engine, self.guard.deadline)

    async def dispose(self) -> None:
        await self.warm.drain()
        await self.engine.dispose()
        if self.probe_engine is not None:
            await self.probe_engine.dispose()
