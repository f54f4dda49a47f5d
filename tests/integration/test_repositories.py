"""The PostgreSQL repositories and unit of work on a real database: round trips, uniqueness,
versions, ownership, rollback, and connections always returned to the pool."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_core import (
    DuplicateAccount,
    NotFound,
    Priority,
    Task,
    TaskChanges,
    User,
    VersionMismatch,
)
from todo_core.domain import new_task
from todo_core.domain.users import new_user
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory
from todo_core.postgres.link import sql
from todo_core.postgres.repositories import TASK_ROWS, task_values

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def a_user(email: str = "ada@example.com", username: str | None = "ada") -> User:
    return new_user(email=email, username=username, name="Ada", password_hash="x" * 60, now=NOW)


def a_task(user: User, **fields: object) -> Task:
    values: dict[str, object] = {"title": "Write", "tags": ["work"], **fields}
    return new_task(user_id=user.id, now=NOW, **values)  # type: ignore[arg-type]


def test_rows_become_entities_of_domain_types() -> None:
    # What a driver hands over: an enum label, a list, times in the session's zone.
    task = a_task(a_user(), priority="high", due_date=NOW + timedelta(days=1))
    tokyo = timezone(timedelta(hours=9))
    values = {**task_values(task), "created_at": NOW.astimezone(tokyo)}
    values["due_date"] = task.due_date.astimezone(tokyo) if task.due_date else None
    entity = TASK_ROWS.entity([values[name] for name in TASK_ROWS.names])
    assert values["priority"] == "high" and values["tags"] == ["work"]
    assert entity == task
    assert (entity.priority, entity.tags) == (Priority.HIGH, ("work",))
    assert entity.created_at.tzinfo is UTC and entity.due_date is not None
    assert entity.due_date.tzinfo is UTC


@pytest.fixture
def uow(database: PostgresDatabase) -> PostgresUnitOfWorkFactory:
    return PostgresUnitOfWorkFactory(database)


async def add(uow: PostgresUnitOfWorkFactory, *items: User | Task) -> None:
    async with uow() as work:
        for item in items:
            await (work.users.add(item) if isinstance(item, User) else work.tasks.add(item))
        await work.commit()


async def test_user_round_trip_by_id_email_and_username(uow: PostgresUnitOfWorkFactory) -> None:
    user = a_user()
    await add(uow, user)
    async with uow() as work:
        assert await work.users.get(user.id) == user
        assert await work.users.get_by_login("ada@example.com") == user
        assert await work.users.get_by_login("ada") == user
        assert await work.users.get_by_login("nobody") is None


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (lambda: a_user(email="ada@example.com", username="other"), "email"),
        (lambda: a_user(email="other@example.com", username="ada"), "username"),
    ],
)
async def test_duplicate_accounts_are_conflicts_naming_the_field(
    uow: PostgresUnitOfWorkFactory, second: object, field: str
) -> None:
    await add(uow, a_user())
    with pytest.raises(DuplicateAccount) as raised:
        await add(uow, second())  # type: ignore[operator]
    assert raised.value.field == field


async def test_task_round_trip_keeps_every_field(uow: PostgresUnitOfWorkFactory) -> None:
    user = a_user()
    task = a_task(
        user,
        description="with *all* the fields",
        priority="high",
        due_date=NOW + timedelta(days=3),
        tags=["a", "b"],
        recurrence="FREQ=WEEKLY;BYDAY=MO,WE",
    )
    await add(uow, user, task)
    async with uow() as work:
        stored = await work.tasks.get(user_id=user.id, task_id=task.id)
    assert stored == task
    assert stored is not None and stored.due_date is not None
    assert stored.due_date.tzinfo is not None and stored.due_date.utcoffset() == timedelta(0)


async def test_another_users_task_is_not_found(uow: PostgresUnitOfWorkFactory) -> None:
    owner, other = a_user(), a_user("eve@example.com", "eve")
    task = a_task(owner)
    await add(uow, owner, other, task)
    async with uow() as work:
        assert await work.tasks.get(user_id=other.id, task_id=task.id) is None
        with pytest.raises(NotFound):  # at the call or, at the latest, at the commit
            await work.tasks.delete(user_id=other.id, task_id=task.id)
            await work.commit()
    async with uow() as work:
        assert await work.tasks.get(user_id=owner.id, task_id=task.id) is not None


async def test_update_checks_the_version(uow: PostgresUnitOfWorkFactory) -> None:
    user = a_user()
    task = a_task(user)
    await add(uow, user, task)
    applied = task.apply(TaskChanges(title="Changed"), NOW)
    async with uow() as work:
        await work.tasks.update(task, expected_version=applied.loaded_version)
        await work.commit()
    task.title = "Lost update"
    async with uow() as work:
        with pytest.raises(VersionMismatch) as raised:
            await work.tasks.update(task, expected_version=1)
            await work.commit()
    assert raised.value.current_version == 2
    async with uow() as work:
        stored = await work.tasks.get(user_id=user.id, task_id=task.id)
    assert stored is not None and (stored.title, stored.version) == ("Changed", 2)


async def test_delete_checks_the_version_in_the_same_statement(
    uow: PostgresUnitOfWorkFactory,
) -> None:
    user = a_user()
    task = a_task(user)
    await add(uow, user, task)
    async with uow() as work:
        with pytest.raises(VersionMismatch) as raised:
            await work.tasks.delete(user_id=user.id, task_id=task.id, expected_version=7)
            await work.commit()
    assert raised.value.current_version == 1
    async with uow() as work:
        await work.tasks.delete(user_id=user.id, task_id=task.id, expected_version=1)
        await work.commit()
    async with uow() as work:
        assert await work.tasks.get(user_id=user.id, task_id=task.id) is None
        with pytest.raises(NotFound):
            await work.tasks.delete(user_id=user.id, task_id=task.id)
            await work.commit()


async def test_update_of_a_deleted_task_is_not_found(uow: PostgresUnitOfWorkFactory) -> None:
    user = a_user()
    task = a_task(user)
    await add(uow, user, task)
    async with uow() as work:
        await work.tasks.delete(user_id=user.id, task_id=task.id)
        await work.commit()
    task.apply(TaskChanges(title="Gone"), NOW)
    async with uow() as work:
        with pytest.raises(NotFound):
            await work.tasks.update(task, expected_version=1)
            await work.commit()


async def test_uncommitted_work_is_rolled_back(uow: PostgresUnitOfWorkFactory) -> None:
    user = a_user()
    async with uow() as work:
        await work.users.add(user)
    async with uow() as work:
        assert await work.users.get(user.id) is None


async def test_an_error_rolls_back_and_returns_the_connection(
    uow: PostgresUnitOfWorkFactory, database: PostgresDatabase
) -> None:
    user = a_user()
    with pytest.raises(RuntimeError):
        async with uow() as work:
            await work.users.add(user)
            raise RuntimeError("boom")
    assert database.in_use == 0
    async with uow() as work:
        assert await work.users.get(user.id) is None


async def test_deleting_a_user_cascades_to_their_tasks(
    uow: PostgresUnitOfWorkFactory, engine: AsyncEngine
) -> None:
    user = a_user()
    await add(uow, user, a_task(user), a_task(user))
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        remaining = await connection.scalar(text("SELECT count(*) FROM tasks"))
    assert remaining == 0


async def test_the_database_enforces_completed_at_and_tag_limits(engine: AsyncEngine) -> None:
    user_id = uuid4()
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, 'x@example.com', 'h')"),
            {"id": user_id},
        )
    bad_rows = [
        "completed, completed_at) VALUES (:id, :user, 't', true, NULL)",
        "completed, completed_at) VALUES (:id, :user, 't', false, now())",
    ]
    for values in bad_rows:
        with pytest.raises(Exception, match="ck_tasks_completed_at_matches"):
            async with engine.begin() as connection:
                await connection.execute(
                    text(f"INSERT INTO tasks (id, user_id, title, {values}"),
                    {"id": uuid4(), "user": user_id},
                )


async def test_a_unit_of_work_checks_out_nothing_until_its_first_round_trip(
    uow: PostgresUnitOfWorkFactory, database: PostgresDatabase
) -> None:
    async with uow() as work:
        assert database.in_use == 0
        await work.users.get(uuid4())
        assert database.in_use == 1
    assert database.in_use == 0
    assert not database.busy


async def test_a_request_cancelled_mid_statement_closes_its_connection_and_frees_its_slot(
    uow: PostgresUnitOfWorkFactory, database: PostgresDatabase
) -> None:
    """Cancelled while its first round trip runs (a client gone, a shutdown): the request ends
    at once rather than with the statement (it used to wait the statement out), and the
    connection the abandoned statement may still be using is closed, never handed on."""
    slow = sql(text("SELECT pg_sleep(60)"))

    async def wait_long() -> None:
        async with uow() as work:
            await work.read(slow, {})  # type: ignore[attr-defined]

    request = asyncio.ensure_future(wait_long())
    await asyncio.sleep(0.5)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(20):  # a bound far from both: at once, or after 60 s
            await request
    assert database.in_use == 0
    assert database.guard.slots._value == 5 + 10  # every slot free again
    async with uow() as work:
        assert await work.users.get(uuid4()) is None
