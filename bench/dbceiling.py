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
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import psycopg

from bench.data import SORT, Dataset, conninfo
from bench.stats import Measured, summarise
from todo_core import PageCursor, Task, User
from todo_core.postgres.repositories import UNCHANGING

Op = Callable[[psycopg.AsyncConnection], Awaitable[None]]

# Column lists from the entities, which the repositories check against the tables.
_NAMES = [field.name for field in fields(Task)]
_COLUMNS = ", ".join(_NAMES)
_USER = f"SELECT {', '.join(f.name for f in fields(User))} FROM users WHERE id = %s"  # noqa: S608
_TASK = f"SELECT {_COLUMNS} FROM tasks WHERE id = %s AND user_id = %s"  # noqa: S608 - constants
_PAGE = (
    f"SELECT {_COLUMNS} FROM tasks WHERE user_id = %s {{after}} "  # noqa: S608 - constants
    "ORDER BY created_at DESC, id DESC LIMIT 101"
)
_VALUES = ", ".join(f"%({name})s" for name in _NAMES)
_INSERT = f"INSERT INTO tasks ({_COLUMNS}) VALUES ({_VALUES})"  # noqa: S608 - constants
_SET = ", ".join(f"{name} = %({name})s" for name in _NAMES if name not in UNCHANGING)
_UPDATE = (
    f"UPDATE tasks SET {_SET} "  # noqa: S608 - constants
    "WHERE id = %(id)s AND user_id = %(user_id)s AND version = %(loaded)s RETURNING id"
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
        task = {
            **dict.fromkeys(_NAMES),
            "id": uuid.uuid4(),
            "user_id": data.users["writer"],
            "title": "Write the benchmark",
            "completed": False,
            "priority": "high",
            "tags": ["bench", "perf"],
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        await c.execute(_INSERT, task)
        await c.commit()

    async def change(c: psycopg.AsyncConnection, ids: Iterator[uuid.UUID], user: uuid.UUID,
                     complete: bool) -> None:  # fmt: skip
        await c.set_autocommit(False)
        await _authenticate(c, user)
        task = dict(zip(_NAMES, (await _rows(c, _TASK, (_next(ids), user)))[0], strict=True))
        now = datetime.now(UTC)
        if complete:
            task.update(completed=True, completed_at=now)
        else:
            task["title"] = f"Renamed {time.monotonic_ns()}"
        task.update(loaded=task["version"], version=task["version"] + 1, updated_at=now)
        await _rows(c, _UPDATE, task)
        await c.commit()

    async def delete(c: psycopg.AsyncConnection) -> None:
        await c.set_autocommit(False)
        await _authenticate(c, churn)
        await _rows(c, _DELETE, (_next(deletes), churn))
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


class _Exhausted(Exception):  # noqa: N818 - not an error: the prepared rows are used up
    """The operation's prepared ids are used up: its loops stop (the time so far counts)."""


def _next(ids: Iterator[uuid.UUID]) -> uuid.UUID:
    # A bare next() would raise StopIteration inside a coroutine, which Python turns into a
    # RuntimeError (PEP 479) that nothing expected: the crash `nox -s bench` used to show.
    found = next(ids, None)
    if found is None:
        raise _Exhausted
    return found


async def _authenticate(c: psycopg.AsyncConnection, user: uuid.UUID) -> None:
    await _rows(c, _USER, (user,))


async def _rows(
    c: psycopg.AsyncConnection, sql: str, params: tuple[object, ...] | dict[str, Any] = ()
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
                except _Exhausted:
                    break
                except (psycopg.Error, IndexError):
                    errors += 1
                    await connection.rollback()
                latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(workers)))
    return summarise(latencies, time.perf_counter() - began, errors)
