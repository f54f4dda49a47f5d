"""The health probe: a real query for the migration revision, compared with the packaged head,
in one round trip, bounded by a short timeout so that /health never hangs on a dead database."""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy import text

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
        try:
            async with asyncio.timeout(self._timeout):
                revision = await self._query()
        except Exception:  # any failure at all means "not connected"; the details go nowhere
            return HealthReport(database_ok=False, migration_current=None)
        return HealthReport(database_ok=True, migration_current=revision == self._head)

    async def _query(self) -> str | None:
        async with self._database.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")  # no BEGIN
            link = await Link.on(connection, self._database.timeout_per_transaction_ms)
            try:
                rows = (await link.send([(_REVISION, None)]))[0]
            except psycopg.errors.UndefinedTable:
                return None
            return str(rows[0][0]) if rows else None
