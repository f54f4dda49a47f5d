"""The health probe: a real query for the migration revision, compared with the packaged head,
in one round trip, bounded by a short timeout so that /health never hangs on a dead database."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_core.ports import HealthReport
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.link import Link, sql

# One statement, one round trip: an answer means connected; a missing table, not migrated.
_REVISION = sql(text("SELECT version_num FROM alembic_version LIMIT 1"))


class PostgresHealthProbe:
    def __init__(
        self, database: PostgresDatabase, *, head: str | None, timeout: float = 2.0
    ) -> None:
        self._database = database
        self._head = head
        self._timeout = timeout

    async def check(self) -> HealthReport:
        # With every pooled connection taken, asking through the pool would wait behind the
        # requests and time out: a busy database read as a dead one. Go around the pool.
        database = self._database
        busy = database.busy
        try:
            async with asyncio.timeout(self._timeout):
                if busy and database.probe_engine is not None:
                    revision = await self._around_the_pool(database.probe_engine)
                else:
                    revision = await self._through_the_pool()
        except Exception:  # any failure at all means "not connected"; the details go nowhere
            return HealthReport(database_ok=False, migration_current=None)
        current = revision == self._head
        return HealthReport(database_ok=True, migration_current=current, database_busy=busy)

    async def _through_the_pool(self) -> str | None:
        # The units of work's own way (a slot, then a warm connection): the engine's own
        # checkout would open a session of its own while the warm ones sit idle.
        database = self._database
        await database.enter()
        try:
            pooled = await database.check_out()
            broken = True
            try:
                link = Link.of(pooled, database.engine, database.timeout_per_transaction_ms)
                revision = await _revision(link)
                broken = False
            finally:
                await database.give_back(pooled, broken=broken)
        finally:
            database.leave()
        return revision

    async def _around_the_pool(self, engine: AsyncEngine) -> str | None:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # no BEGIN
            link = await Link.on(connection, self._database.timeout_per_transaction_ms)
            return await _revision(link)


async def _revision(link: Link) -> str | None:
    try:
        rows = (await link.send([(_REVISION, None)]))[0]
    except psycopg.errors.UndefinedTable:
        return None
    return str(rows[0][0]) if rows else None
