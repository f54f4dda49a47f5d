"""The services on the PostgreSQL adapter: completing a recurring task and creating its next
occurrence commit together or not at all."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Self

import pytest

from todo_core import AccountService, BcryptPasswordHasher, StorageError, Task, TaskService
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWork, PostgresUnitOfWorkFactory
from todo_core.testing import FixedClock

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class CollidingFollowUps(PostgresUnitOfWork):
    """A unit of work whose follow-ups fail in the database (a primary key already taken),
    in the same statement as the completion they follow."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        real_tasks = self.tasks

        class Tasks:
            def __getattr__(self, name: str) -> Any:
                return getattr(real_tasks, name)

            async def update(
                self, task: Task, *, expected_version: int, follow_up: Task | None = None
            ) -> None:
                assert follow_up is not None
                clash = replace(follow_up, id=task.id)
                await real_tasks.update(task, expected_version=expected_version, follow_up=clash)

        self.tasks = Tasks()  # type: ignore[assignment]
        return self


@pytest.fixture
async def owner_and_task(database: PostgresDatabase) -> tuple[Any, Task]:
    uow = PostgresUnitOfWorkFactory(database)
    clock = FixedClock(NOW)
    accounts = AccountService(uow=uow, hasher=BcryptPasswordHasher(rounds=4), clock=clock)
    user = await accounts.sign_up(email="r@example.com", password="long enough")
    task = await TaskService(uow=uow, clock=clock).create(
        actor_id=user.id,
        owner_id=user.id,
        title="Stand-up",
        due_date=NOW + timedelta(days=1),
        recurrence="daily",
    )
    return user.id, task


async def test_completion_and_next_occurrence_roll_back_together(
    database: PostgresDatabase, owner_and_task: tuple[Any, Task]
) -> None:
    owner, task = owner_and_task
    failing = TaskService(
        uow=lambda **kwargs: CollidingFollowUps(database, **kwargs), clock=FixedClock(NOW)
    )
    with pytest.raises(StorageError):
        await failing.complete(actor_id=owner, owner_id=owner, task_id=task.id)
    tasks = TaskService(uow=PostgresUnitOfWorkFactory(database), clock=FixedClock(NOW))
    stored = await tasks.get(actor_id=owner, owner_id=owner, task_id=task.id)
    assert (stored.completed, stored.version) == (False, 1)


async def test_completion_commits_the_next_occurrence(
    database: PostgresDatabase, owner_and_task: tuple[Any, Task]
) -> None:
    owner, task = owner_and_task
    tasks = TaskService(uow=PostgresUnitOfWorkFactory(database), clock=FixedClock(NOW))
    result = await tasks.complete(actor_id=owner, owner_id=owner, task_id=task.id)
    assert result.next_occurrence is not None
    stored = await tasks.get(actor_id=owner, owner_id=owner, task_id=result.next_occurrence.id)
    assert stored.due_date == task.due_date + timedelta(days=1)  # type: ignore[operator]
    assert stored.completed is False
