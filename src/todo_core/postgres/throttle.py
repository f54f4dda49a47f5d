"""`LoginFailureLog` on PostgreSQL: the login throttle's state in the `login_throttle` table,
so every worker and instance sees the same failures (migration 0006 says how it is stored).

A check is one indexed read; a failure is one statement (upsert this request's keys, purge
other keys whose failures have all left the window); a success writes only when its account had
failures. Each is one round trip on either path (see `link`). A login does better: its unit of
work reads and records the failures inside the login's own statements (`RECENT`, `PURGE` and
`ADD` are reused there, see `tokens`). Times are the database's `now()`, the one clock all
instances share.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import String

from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.link import Link, Rows, Sql, sql
from todo_core.postgres.translate import storage_errors

_KEYS = bindparam("keys", type_=ARRAY(String))

# Each key's failures within the window, as ages in seconds, newest first (binds `keys`,
# `window`): the read a login folds into its own statement (see `tokens`).
RECENT = """
    SELECT t.key, array_agg(EXTRACT(EPOCH FROM now() - f) ORDER BY f DESC) AS ages
    FROM login_throttle AS t, unnest(t.failures) AS f
    WHERE t.key = ANY(CAST(:keys AS text[])) AND f > now() - make_interval(secs => :window)
    GROUP BY t.key
"""
_RECENT = sql(text(RECENT).bindparams(_KEYS))

# One failure now for each of `keys` (binds `keys`, `window`, `keep`): `PURGE` is a CTE,
# `ADD` the statement it goes with (a failed login puts one more CTE before them).
PURGE = """
    purged AS (
        DELETE FROM login_throttle
        WHERE last_failed_at <= now() - make_interval(secs => :window)
        AND key <> ALL(CAST(:keys AS text[]))
    )
"""
ADD = """
    INSERT INTO login_throttle AS t (key, failures, last_failed_at)
    SELECT k, ARRAY[now()], now() FROM unnest(CAST(:keys AS text[])) AS k
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
_RECORD = sql(text("WITH" + PURGE + ADD).bindparams(_KEYS))

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
        # One statement, one round trip on either path (see `link`): alone in autocommit on
        # the direct endpoint, pipelined with its `SET LOCAL` behind a pooler.
        connection = await self._database.acquire(autocommit=True)
        try:
            with storage_errors():
                link = await Link.on(
                    connection,
                    self._database.timeout_per_transaction_ms,
                    self._database.lock_timeout_per_transaction_ms,
                )
                return (await link.send([(statement, values)]))[0]
        finally:
            await self._database.release(connection)  # and its pool slot
