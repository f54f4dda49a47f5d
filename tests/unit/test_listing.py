"""Listing through the service and the in-memory repository: filters, orders, keyset pages."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.unit.conftest import MakeTask, later
from todo_core import (
    Forbidden,
    Priority,
    Task,
    TaskChanges,
    TaskQuery,
    TaskService,
    TaskSort,
    User,
)
from todo_core.testing import FixedClock


@pytest.fixture
async def many(
    make_task: MakeTask, clock: FixedClock, tasks: TaskService, alice: User
) -> list[Task]:
    """55 tasks with clashing sort keys (so the id tie-breaker matters) and some null due dates."""
    rng = random.Random(7)
    made = []
    for i in range(55):
        clock.advance(timedelta(minutes=rng.choice([0, 1])))  # many equal created_at values
        made.append(
            await make_task(
                title=rng.choice(["alpha", "Beta", "gamma", "delta"]),
                priority=rng.choice(list(Priority)),
                due_date=rng.choice([None, later(days=rng.randint(1, 5))]),
                tags=["even" if i % 2 == 0 else "odd", *(["five"] if i % 5 == 0 else [])],
            )
        )
    for task in made[:10]:
        await tasks.complete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
    return made


async def walk(tasks: TaskService, user: User, query: TaskQuery) -> list[Task]:
    """Every page of `query`, following next_cursor until it runs out."""
    seen: list[Task] = []
    while True:
        page = await tasks.list(actor_id=user.id, owner_id=user.id, query=query)
        assert len(page.items) <= query.limit
        seen.extend(page.items)
        if page.next_cursor is None:
            return seen
        query = TaskQuery(limit=query.limit, sort=query.sort, cursor=page.next_cursor)


def expected_order(tasks: list[Task], sort: TaskSort) -> list[Task]:
    """The documented order, computed independently: nulls last, then key, then id."""
    present = [t for t in tasks if sort.key_of(t) is not None]
    absent = [t for t in tasks if sort.key_of(t) is None]

    def key(t: Task) -> tuple[object, int]:
        value = sort.key_of(t)
        return (value.rank if isinstance(value, Priority) else value, t.id.int)

    present.sort(key=key, reverse=sort.descending)
    absent.sort(key=lambda t: t.id.int, reverse=sort.descending)
    return present + absent


@pytest.mark.parametrize(
    "sort",
    [
        "-created_at",
        "created_at",
        "updated_at",
        "-updated_at",
        "due_date",
        "-due_date",
        "priority",
        "-priority",
        "title",
        "-title",
    ],
)
@pytest.mark.parametrize("limit", [1, 7, 20, 100])
async def test_pages_cover_everything_once_in_order(
    tasks: TaskService, alice: User, many: list[Task], sort: str, limit: int
) -> None:
    query = TaskQuery(limit=limit, sort=TaskSort.parse(sort))
    seen = await walk(tasks, alice, query)
    assert len(seen) == len({t.id for t in seen}) == 55
    assert [t.id for t in seen] == [t.id for t in expected_order(seen, query.sort)]


async def test_cursor_survives_encoding(tasks: TaskService, alice: User, many: list[Task]) -> None:
    sort = TaskSort.parse("-due_date")
    first = await tasks.list(
        actor_id=alice.id, owner_id=alice.id, query=TaskQuery(limit=30, sort=sort)
    )
    assert first.next_cursor is not None
    cursor = type(first.next_cursor).decode(first.next_cursor.encode(), sort)
    rest = await tasks.list(
        actor_id=alice.id, owner_id=alice.id, query=TaskQuery(limit=30, sort=sort, cursor=cursor)
    )
    assert rest.next_cursor is None
    assert {t.id for t in first.items} | {t.id for t in rest.items} == {t.id for t in many}


async def test_last_full_page_has_no_next_cursor(
    tasks: TaskService, alice: User, many: list[Task]
) -> None:
    page = await tasks.list(actor_id=alice.id, owner_id=alice.id, query=TaskQuery(limit=55))
    assert (len(page.items), page.next_cursor) == (55, None)


async def test_filters(
    tasks: TaskService, alice: User, many: list[Task], clock: FixedClock
) -> None:
    async def ids(**filters: object) -> set[object]:
        query = TaskQuery(limit=100, **filters)  # type: ignore[arg-type]
        return {
            t.id
            for t in (await tasks.list(actor_id=alice.id, owner_id=alice.id, query=query)).items
        }

    done = {t.id for t in many[:10]}
    assert await ids(completed=True) == done
    assert await ids(completed=False) == {t.id for t in many} - done
    assert await ids(priority=Priority.HIGH) == {t.id for t in many if t.priority is Priority.HIGH}
    assert await ids(tags=("EVEN", "five")) == {t.id for i, t in enumerate(many) if i % 10 == 0}
    assert await ids(text="ALPHA") == {t.id for t in many if t.title == "alpha"}
    window = {"due_after": later(days=2), "due_before": later(days=4)}
    assert await ids(**window) == {
        t.id for t in many if t.due_date and later(days=2) <= t.due_date < later(days=4)
    }
    clock.advance(timedelta(days=3))
    overdue = {t.id for t in many[10:] if t.due_date and t.due_date < clock.now()}
    assert overdue
    assert await ids(overdue=True) == overdue
    assert await ids(overdue=False) == {t.id for t in many} - overdue


async def test_filters_and_pages_together(
    tasks: TaskService, alice: User, many: list[Task]
) -> None:
    query = TaskQuery(limit=4, tags=("odd",), sort=TaskSort.parse("title"))
    seen: list[Task] = []
    while True:
        page = await tasks.list(actor_id=alice.id, owner_id=alice.id, query=query)
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        query = TaskQuery(limit=4, tags=("odd",), sort=query.sort, cursor=page.next_cursor)
    assert sorted(t.id for t in seen) == sorted(t.id for i, t in enumerate(many) if i % 2)


async def test_updated_at_order_follows_edits(
    tasks: TaskService, alice: User, many: list[Task], clock: FixedClock
) -> None:
    clock.advance(timedelta(days=1))
    target = many[30]
    await tasks.update(
        actor_id=alice.id, owner_id=alice.id, task_id=target.id, changes=TaskChanges(title="new")
    )
    page = await tasks.list(
        actor_id=alice.id,
        owner_id=alice.id,
        query=TaskQuery(limit=1, sort=TaskSort.parse("-updated_at")),
    )
    assert page.items[0].id == target.id


async def test_only_the_owners_tasks_are_listed(
    tasks: TaskService, alice: User, bob: User, many: list[Task]
) -> None:
    page = await tasks.list(actor_id=bob.id, owner_id=bob.id, query=TaskQuery())
    assert page.items == ()
    with pytest.raises(Forbidden):
        await tasks.list(actor_id=bob.id, owner_id=alice.id, query=TaskQuery())
