"""The health probe: a real `SELECT 1` and the migration revision against the packaged head,
bounded by a short timeout so that /health never hangs on a dead database."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from todo_core.ports import HealthReport
from todo_core.postgres.database import PostgresDatabase

_PING = text("SELECT 1, to_regclass('alembic_version') IS NOT NULL")
_REVISION = text("SELECT version_num FROM alembic_version LIMIT 1")


class PostgresHealthProbe:
    def __init__(
        self, database: PostgresDatabase, *, head: str | None, timeout: float = 2.0
    ) -> None:
        self._engine = database.engine
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
        async with self._engine.connect() as connection:
            _, migrated = (await connection.execute(_PING)).one()
            return await connection.scalar(_REVISION) if migrated else None
