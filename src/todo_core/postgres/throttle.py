"""`LoginFailureLog` on PostgreSQL: the login throttle's state in the `login_throttle` table,
so every worker and instance sees the same failures (migration 0006 says how it is stored).

A check is one indexed read in autocommit; a failure is one statement (upsert this request's
keys, purge other keys whose failures have all left the window); a success writes only when its
account had failures. Times are the database's `now()`, the one clock all instances share.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import String

from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.translate import storage_errors

_KEYS = bindparam("keys", type_=ARRAY(String))

_RECENT = text(
    """
    SELECT t.key, array_agg(EXTRACT(EPOCH FROM now() - f) ORDER BY f DESC)
    FROM login_throttle AS t, unnest(t.failures) AS f
    WHERE t.key = ANY(:keys) AND f > now() - make_interval(secs => :window)
    GROUP BY t.key
    """
).bindparams(_KEYS)

_RECORD = text(
    """
    WITH purged AS (
        DELETE FROM login_throttle
        WHERE last_failed_at <= now() - make_interval(secs => :window) AND key <> ALL(:keys)
    )
    INSERT INTO login_throttle AS t (key, failures, last_failed_at)
    SELECT k, ARRAY[now()], now() FROM unnest(:keys) AS k
    ON CONFLICT (key) DO UPDATE SET
        failures = (
            SELECT array_agg(f ORDER BY f)
            FROM (
                SELECT f FROM unnest(t.failures || now()) AS f
                WHERE f > now() - make_interval(secs => :window)
                ORDER BY f DESC
                LIMIT :keep
            ) AS recent
        ),
        last_failed_at = now()
    """
).bindparams(_KEYS)

_CLEAR = text("DELETE FROM login_throttle WHERE key = :key")


class PostgresLoginFailureLog:
    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def recent(self, keys: Sequence[str], *, window: float) -> dict[str, list[float]]:
        # One statement needs no transaction, even behind a pooler (no BEGIN, SET LOCAL,
        # ROLLBACK): every login pays only this read and the pool's pre-ping.
        connection = await self._database.acquire(read_only=True, autocommit=True)
        try:
            with storage_errors():
                rows = await connection.execute(_RECENT, {"keys": list(keys), "window": window})
                return {key: [float(age) for age in ages] for key, ages in rows}
        finally:
            await self._release(connection)

    async def record(self, keys: Sequence[str], *, window: float, keep: int) -> None:
        await self._write(_RECORD, {"keys": list(keys), "window": window, "keep": keep})

    async def clear(self, key: str) -> None:
        await self._write(_CLEAR, {"key": key})

    async def _write(self, statement: TextClause, values: dict[str, object]) -> None:
        connection = await self._database.acquire()
        try:
            with storage_errors():
                await connection.execute(statement, values)
                await connection.commit()
        finally:
            await self._release(connection)

    async def _release(self, connection: AsyncConnection) -> None:
        try:
            await connection.rollback()  # a no-op after commit() or in autocommit
        finally:
            await self._database.release(connection)  # and its pool slot
