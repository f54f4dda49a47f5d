"""The database ceiling: the statements each scenario makes, over raw async psycopg, no HTTP.

Each operation repeats what one API request sends (the acting user's check, then the
scenario's statements, in one unit of work: reads in autocommit, writes in one committed
transaction, as `todo_core.postgres` does off a pooler) on one dedicated connection per
worker, with as many workers as the API's pool may open. It omits the pool's pre-ping, which
is an engine setting rather than the scenario's work. The ratio API / ceiling is then what
the Python layers above the driver cost.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.data import SORT, Dataset, conninfo
from bench.stats import Measured, summarise
from todo_core import PageCursor

Op = Callable[[psycopg.AsyncConnection], Awaitable[None]]

_COLUMNS = (
    "id, user_id, title, description, completed, completed_at, priority, due_date, tags, "
    "recurrence, version, created_at, updated_at"
)
_USER = (
    "SELECT id, email, username, password_hash, name, is_active, email_verified, created_at, "
    "updated_at FROM users WHERE id = %s"
)
_TASK = f"SELECT {_COLUMNS} FROM tasks WHERE id = %s AND user_id = %s"  # noqa: S608 - constants
_PAGE = (
    f"SELECT {_COLUMNS} FROM tasks WHERE user_id = %s {{after}} "  # noqa: S608 - constants
    "ORDER BY created_at DESC, id DESC LIMIT 101"
)
_INSERT = f"INSERT INTO tasks ({_COLUMNS}) VALUES ({', '.join(['%s'] * 13)})"  # noqa: S608
_UPDATE = (
    "UPDATE tasks SET title = %s, description = %s, completed = %s, completed_at = %s, "
    "priority = %s, due_date = %s, tags = %s, recurrence = %s, version = %s, updated_at = %s "
    "WHERE id = %s AND user_id = %s AND version = %s RETURNING id"
)
_DELETE = "DELETE FROM tasks WHERE id = %s AND user_id = %s RETURNING id"
_HEALTH = "SELECT 1, to_regclass('alembic_version') IS NOT NULL"
_REVISION = "SELECT version_num FROM alembic_version LIMIT 1"


def operations(data: Dataset) -> dict[str, Op]:
    small, large, churn = data.users["small"], data.users["large"], data.users["churn"]
    cursor = PageCursor.decode(data.deep_cursor, SORT)
    cycle = itertools.cycle(data.ids["small"])
    completes, deletes = iter(data.ids["db_complete"]), iter(data.ids["db_delete"])
    after = "AND (created_at, id) < (%s, %s)"

    async def health(c: psycopg.AsyncConnection) -> None:
        await c.set_autocommit(False)
        await _rows(c, _HEALTH)
        await _rows(c, _REVISION)
        await c.rollback()

    async def page(c: psycopg.AsyncConnection, user: uuid.UUID, deep: bool) -> None:
        await c.set_autocommit(True)
        await _authenticate(c, user)
        sql = _PAGE.format(after=after if deep else "")
        await _rows(c, sql, (user, cursor.key, cursor.id) if deep else (user,))

    async def get(c: psycopg.AsyncConnection) -> None:
        await c.set_autocommit(True)
        await _authenticate(c, small)
        await _rows(c, _TASK, (next(cycle), small))

    async def create(c: psycopg.AsyncConnection) -> None:
        await c.set_autocommit(False)
        await _authenticate(c, data.users["writer"])
        now = datetime.now(UTC)
        row = (uuid.uuid4(), data.users["writer"], "Write the benchmark", None, False, None)
        await c.execute(_INSERT, (*row, "high", None, ["bench", "perf"], None, 1, now, now))
        await c.commit()

    async def change(c: psycopg.AsyncConnection, ids: Iterator[uuid.UUID], user: uuid.UUID,
                     complete: bool) -> None:  # fmt: skip
        await c.set_autocommit(False)
        await _authenticate(c, user)
        task = (await _rows(c, _TASK, (next(ids), user)))[0]
        now = datetime.now(UTC)
        title = task[2] if complete else f"Renamed {time.monotonic_ns()}"
        values = (title, task[3], complete or task[4], now if complete else task[5], task[6])
        await _rows(c, _UPDATE, (*values, *task[7:10], task[10] + 1, now, task[0], user, task[10]))
        await c.commit()

    async def delete(c: psycopg.AsyncConnection) -> None:
        await c.set_autocommit(False)
        await _authenticate(c, churn)
        await _rows(c, _DELETE, (next(deletes), churn))
        await c.commit()

    return {
        "health": health,
        "get": get,
        "list_100": lambda c: page(c, small, deep=False),
        "first_page_100k": lambda c: page(c, large, deep=False),
        "deep_page_100k": lambda c: page(c, large, deep=True),
        "create": create,
        "patch": lambda c: change(c, cycle, small, complete=False),
        "complete": lambda c: change(c, completes, churn, complete=True),
        "delete": delete,
    }


async def _authenticate(c: psycopg.AsyncConnection, user: uuid.UUID) -> None:
    await _rows(c, _USER, (user,))


async def _rows(
    c: psycopg.AsyncConnection, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[Any, ...]]:
    cursor = await c.execute(sql, params)
    return await cursor.fetchall() if cursor.description else []


async def measure(database_url: str, op: Op, *, seconds: float, workers: int) -> Measured:
    """Run `op` in `workers` concurrent loops for `seconds`; throughput and latency."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal errors
        async with await psycopg.AsyncConnection.connect(conninfo(database_url)) as connection:
            while (started := time.perf_counter()) < deadline:
                try:
                    await op(connection)
                except (psycopg.Error, StopIteration, IndexError):
                    errors += 1
                    await connection.rollback()
                latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(workers)))
    return summarise(latencies, time.perf_counter() - began, errors)
