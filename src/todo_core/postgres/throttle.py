"""`LoginFailureLog` on PostgreSQL: the login throttle's state in the `login_throttle` table,
so every worker and instance sees the same failures (migration 0006 says how it is stored).

A check is one indexed read; a failure is one statement (upsert this request's keys, purge
other keys whose failures have all left the window); a success writes only when its account had
failures. Each is one round trip on either path (see `link`). A login does better: its unit of
work reads and records the failures inside the login's own statements (`throttle_statements`
are reused there, see `tokens`). Times are the database's `now()`, the one clock all instances
share.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.link import Rows, Sql, sql
from todo_core.postgres.throttle_statements import ADD, KEYS, PURGE, RECENT
from todo_core.postgres.unit_of_work import PostgresUnitOfWork

_RECENT = sql(text(RECENT).bindparams(KEYS))

_RECORD = sql(text("WITH" + PURGE + ADD).bindparams(KEYS))

_CLEAR = sql(text("DELETE FROM login_throttle WHERE key = :key"))


class PostgresLoginFailureLog:
    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    @property
    def database(self) -> PostgresDatabase:
        """Where the failures live: a unit of work on the same database folds a login's
        read and record of them into the login's own statements (see `tokens`)."""
        return self._database

    async def recent(self, keys: Sequence[str], *, window: float) -> dict[str, list[float]]:
        rows = await self._send(_RECENT, {"keys": list(keys), "window": window})
        return {key: [float(age) for age in ages] for key, ages in rows}

    async def record(self, keys: Sequence[str], *, window: float, keep: int) -> None:
        await self._send(_RECORD, {"keys": list(keys), "window": window, "keep": keep})

    async def clear(self, key: str) -> None:
        await self._send(_CLEAR, {"key": key})

    async def _send(self, statement: Sql, values: dict[str, object]) -> Rows:
        # One statement, one round trip on either path (see `link`), bounded and retried as
        # any unit of work's first round trip is.
        async with PostgresUnitOfWork(self._database) as uow:
            return await uow.now(statement, values, repeatable=statement is _RECENT)
