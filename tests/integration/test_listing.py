"""Task lists on PostgreSQL: the same answers as the domain's own rules (the in-memory fake
implements them), keyset pages without gaps or repeats, and one statement per page."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_core import PageCursor, Priority, Task, TaskQuery, TaskSort
from todo_core.domain import new_task
from todo_core.domain.users import new_user
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory
from todo_core.testing import InMemoryStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SORTS = [f"{sign}{name}" for sign in ("", "-") for name in
         ("created_at", "updated_at", "due_date", "priority", "title")]  # fmt: skip
FILTERS: list[dict[str, Any]] = [
    {},
    {"completed": True},
    {"completed": False},
    {"priority": Priority.HIGH},
    {"tags": ("home",)},
    {"tags": ("home", "work")},
    {"due_before": NOW + timedelta(days=3)},
    {"due_after": NOW + timedelta(days=2), "due_before": NOW + timedelta(days=6)},
    {"overdue": True},
    {"overdue": False},
    {"text": "report"},
    {"text": "50%_done"},
]


def varied_tasks(owner_id: Any, count: int, seed: int = 7) -> list[Task]:
    rng = random.Random(seed)
    tasks = []
    for number in range(count):
        created = NOW - timedelta(days=10) + timedelta(minutes=rng.randrange(0, 5) * 30)
        task = new_task(
            user_id=owner_id,
            now=created,
            title=rng.choice(["Report", "report draft", "Água", "zebra", "50%_done", "b"]),
            description=rng.choice([None, "weekly report", "nothing"]),
            priority=rng.choice(list(Priority)),
            due_date=rng.choice([None, created + timedelta(days=rng.randrange(1, 20))]),
            tags=rng.sample(["home", "work", "x"], rng.randrange(0, 3)),
        )
        if number % 3 == 0:
            task.complete(created + timedelta(hours=1))
        tasks.append(task)
    return tasks


@pytest.fixture
async def stores(
    database: PostgresDatabase,
) -> tuple[PostgresUnitOfWorkFactory, InMemoryStore, Any]:
    owner = new_user(email="o@example.com", username=None, name=None, password_hash="h", now=NOW)
    other = new_user(email="p@example.com", username=None, name=None, password_hash="h", now=NOW)
    postgres, memory = PostgresUnitOfWorkFactory(database), InMemoryStore()
    tasks = varied_tasks(owner.id, 60) + varied_tasks(other.id, 10, seed=8)
    for factory in (postgres, memory.unit_of_work):
        async with factory() as work:
            await work.users.add(owner)
            await work.users.add(other)
            for task in tasks:
                await work.tasks.add(replace(task))
            await work.commit()
    return postgres, memory, owner.id


async def walk(factory: Any, owner_id: Any, **query: Any) -> list[Any]:
    """Every id of every page, following next_cursor to the end."""
    ids: list[Any] = []
    cursor: PageCursor | None = None
    while True:
        async with factory() as work:
            page = await work.tasks.list(
                user_id=owner_id, query=TaskQuery(cursor=cursor, **query), now=NOW
            )
        ids += [task.id for task in page.items]
        if page.next_cursor is None:
            return ids
        cursor = PageCursor.decode(page.next_cursor.encode(), query["sort"])


@pytest.mark.parametrize("sort", SORTS)
async def test_every_sort_pages_like_the_domain_rules(stores: Any, sort: str) -> None:
    postgres, memory, owner_id = stores
    order = TaskSort.parse(sort)
    expected = await walk(memory.unit_of_work, owner_id, sort=order, limit=100)
    paged = await walk(postgres, owner_id, sort=order, limit=7)
    assert len(expected) == 60
    assert paged == expected


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f) or "none")
async def test_every_filter_matches_the_domain_rules(stores: Any, filters: dict[str, Any]) -> None:
    postgres, memory, owner_id = stores
    for sort in ("-created_at", "due_date"):
        order = TaskSort.parse(sort)
        expected = await walk(memory.unit_of_work, owner_id, sort=order, limit=100, **filters)
        assert await walk(postgres, owner_id, sort=order, limit=5, **filters) == expected


@contextmanager
def counted_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_page_is_one_statement_however_many_rows(stores: Any, engine: AsyncEngine) -> None:
    postgres, _, owner_id = stores
    with counted_statements(engine) as statements:
        async with postgres() as work:
            page = await work.tasks.list(user_id=owner_id, query=TaskQuery(limit=50), now=NOW)
    assert len(page.items) == 50
    assert [s.split()[0] for s in statements] == ["SELECT"]
