"""The database, not only the service, keeps a recurring task to one follow-up: once an
occurrence has had one, a save that brings another (a stale read) is refused whole (the link's
primary key), and the load tells the service that the occurrence is followed up already."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from todo_core.domain.tasks import Task, TaskChanges
from todo_core.domain.users import new_user
from todo_core.errors import Conflict
from todo_core.ports import ToChange
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def test_an_occurrence_stores_one_follow_up_ever(database: PostgresDatabase) -> None:
    uow = PostgresUnitOfWorkFactory(database)
    owner = new_user(email="f@example.com", username=None, name=None, password_hash="h", now=NOW)
    task = Task.create(
        user_id=owner.id, title="t", now=NOW, due_date=NOW + timedelta(days=1), recurrence="daily"
    )
    async with uow() as work:
        await work.users.add(owner)
        await work.tasks.add(task)
        await work.commit()

    async def save(completed: bool, *, followed_up: bool) -> None:
        applied = task.apply(TaskChanges(completed=completed), NOW, followed_up=followed_up)
        async with uow() as work:
            await work.tasks.update(
                task, expected_version=applied.loaded_version, follow_up=applied.next_occurrence
            )
            await work.commit()

    async def stored() -> ToChange:
        async with uow() as work:
            loaded = await work.tasks.get_to_change(user_id=owner.id, task_id=task.id)
        assert loaded is not None
        return loaded

    assert not (await stored()).followed_up
    await save(True, followed_up=False)
    assert (await stored()).followed_up
    await save(False, followed_up=True)
    with pytest.raises(Conflict):  # a service that missed the link: the database refuses
        await save(True, followed_up=False)
    after = await stored()
    assert after.followed_up
    assert not after.task.completed  # nothing of the refused save was stored
    async with database.engine.connect() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM tasks WHERE user_id = :owner"), {"owner": owner.id}
        )
    assert count == 2
