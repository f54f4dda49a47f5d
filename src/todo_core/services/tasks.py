"""Tasks: each operation opens a unit of work, checks the actor, loads, applies the entity's
rule (`Task.create`, `Task.apply`), saves what follows from it and commits.

The acting user is checked here, once, inside the operation's own unit of work: they must
still exist and be active (a token outlives a deleted account), and may only act on their own
tasks (`Forbidden`); a task of someone else is reported as missing (`NotFound`), so nothing
about it leaks. Checking the actor in the same unit of work as the operation costs one
statement, not a second transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import UNSET, Priority, Task, TaskChanges
from todo_core.errors import AuthenticationFailed, Forbidden, NotFound, VersionMismatch
from todo_core.ports import Clock, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class TaskUpdate:
    task: Task
    next_occurrence: Task | None  # the follow-up created by completing a recurring task


async def _check_actor(
    uow: UnitOfWork, actor_id: UUID, owner_id: UUID, authenticated_at: datetime | None
) -> None:
    actor = await uow.users.get(actor_id)
    if actor is None or not actor.accepts_token(authenticated_at):
        raise AuthenticationFailed("The access token is no longer valid; log in again.")
    if actor_id != owner_id:
        raise Forbidden()


class TaskService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        title: str,
        description: str | None = None,
        priority: str | Priority | None = None,
        due_date: datetime | None = None,
        tags: Iterable[str] = (),
        recurrence: str | None = None,
    ) -> Task:
        task = Task.create(
            user_id=owner_id,
            title=title,
            description=description,
            priority=priority,
            due_date=due_date,
            tags=tags,
            recurrence=recurrence,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await _check_actor(uow, actor_id, owner_id, authenticated_at)
            await uow.tasks.add(task)
            await uow.commit()
        return task

    async def get(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        authenticated_at: datetime | None = None,
    ) -> Task:
        async with self._uow(read_only=True) as uow:
            await _check_actor(uow, actor_id, owner_id, authenticated_at)
            return await _load(uow, owner_id, task_id, None)

    async def list(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        query: TaskQuery,
        authenticated_at: datetime | None = None,
    ) -> TaskPage:
        async with self._uow(read_only=True) as uow:
            await _check_actor(uow, actor_id, owner_id, authenticated_at)
            return await uow.tasks.list(user_id=owner_id, query=query, now=self._clock.now())

    async def update(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        task_id: UUID,
        changes: TaskChanges,
        expected_version: int | None = None,
    ) -> TaskUpdate:
        """Apply `changes`; `completed` true/false completes or reopens (never a toggle)."""
        now = self._clock.now()
        async with self._uow() as uow:
            await _check_actor(uow, actor_id, owner_id, authenticated_at)
            task = await _load(uow, owner_id, task_id, expected_version)
            applied = task.apply(changes, now)
            if applied.changed:
                await uow.tasks.update(task, expected_version=applied.loaded_version)
            if applied.next_occurrence is not None:
                await uow.tasks.add(applied.next_occurrence)
            await uow.commit()
        return TaskUpdate(task, applied.next_occurrence)

    async def complete(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
        authenticated_at: datetime | None = None,
    ) -> TaskUpdate:
        """Idempotent: completing a completed task changes nothing and creates no follow-up."""
        changes = TaskChanges(completed=True)
        return await self.update(
            actor_id=actor_id, owner_id=owner_id, task_id=task_id, changes=changes,
            expected_version=expected_version, authenticated_at=authenticated_at,
        )  # fmt: skip

    async def reopen(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
        authenticated_at: datetime | None = None,
    ) -> TaskUpdate:
        changes = TaskChanges(completed=False)
        return await self.update(
            actor_id=actor_id, owner_id=owner_id, task_id=task_id, changes=changes,
            expected_version=expected_version, authenticated_at=authenticated_at,
        )  # fmt: skip

    async def delete(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
        authenticated_at: datetime | None = None,
    ) -> None:
        """One statement: the version check and the delete cannot be split by another writer."""
        async with self._uow() as uow:
            await _check_actor(uow, actor_id, owner_id, authenticated_at)
            await uow.tasks.delete(
                user_id=owner_id, task_id=task_id, expected_version=expected_version
            )
            await uow.commit()


async def _load(uow: UnitOfWork, owner_id: UUID, task_id: UUID, expected: int | None) -> Task:
    """The owner's task, at the version the caller last saw if they name one."""
    task = await uow.tasks.get(user_id=owner_id, task_id=task_id)
    if task is None:
        raise NotFound("task")
    if expected is not None and expected != task.version:
        raise VersionMismatch(task.version)
    return task


__all__ = ["UNSET", "TaskChanges", "TaskService", "TaskUpdate"]
