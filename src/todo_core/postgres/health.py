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
        busy = self._database.busy
        engine = self._database.probe_engine if busy else self._database.engine
        try:
            async with asyncio.timeout(self._timeout):
                revision = await self._query(engine or self._database.engine)
        except Exception:  # any failure at all means "not connected"; the details go nowhere
            return HealthReport(database_ok=False, migration_current=None)
        current = revision == self._head
        return HealthReport(database_ok=True, migration_current=current, database_busy=busy)

    async def _query(self, engine: AsyncEngine) -> str | None:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # no BEGIN
            link = await Link.on(connection, self._database.timeout_per_transaction_ms)
            try:
                rows = (await link.send([(_REVISION, None)]))[0]
            except psycopg.errors.UndefinedTable:
                return None
            return str(rows[0][0]) if rows else None
