"""Tasks: each operation opens a unit of work on behalf of the actor, loads, applies the
entity's rule (`Task.create`, `Task.apply`), saves what follows from it and commits.

The acting user is checked by the operation's own unit of work (`uow(actor=...,
authenticated_at=...)`): they must still exist, be active (a token outlives a deleted account)
and hold a token issued after their last revocation, or AuthenticationFailed is raised before
anything is read or written. On PostgreSQL the check rides on the operation's own round trip,
so it costs nothing on the wire. They may only act on their own tasks (`Forbidden`, after the
check); a task of someone else is reported as missing (`NotFound`), so nothing about it leaks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import UNSET, Priority, Task, TaskChanges
from todo_core.errors import Forbidden, NotFound, VersionMismatch
from todo_core.ports import Clock, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class TaskUpdate:
    task: Task
    next_occurrence: Task | None  # the follow-up created by completing a recurring task


async def _only_their_own(uow: UnitOfWork, actor_id: UUID, owner_id: UUID) -> None:
    if actor_id != owner_id:
        await uow.check_actor()  # a refused actor hears that first
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
        async with self._uow(actor=actor_id, authenticated_at=authenticated_at) as uow:
            await _only_their_own(uow, actor_id, owner_id)
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
        async with self._uow(
            read_only=True, actor=actor_id, authenticated_at=authenticated_at
        ) as uow:
            await _only_their_own(uow, actor_id, owner_id)
            return await _load(uow, owner_id, task_id, None)

    async def list(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        query: TaskQuery,
        authenticated_at: datetime | None = None,
    ) -> TaskPage:
        async with self._uow(
            read_only=True, actor=actor_id, authenticated_at=authenticated_at
        ) as uow:
            await _only_their_own(uow, actor_id, owner_id)
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
        return await self._change(
            actor_id, owner_id, authenticated_at, task_id, lambda _: changes, expected_version
        )

    async def toggle(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        task_id: UUID,
        expected_version: int | None = None,
    ) -> TaskUpdate:
        """Complete an open task, reopen a completed one: the compatibility surface's
        `PATCH .../complete`, which the front ends calling it expect to toggle. The choice is
        made on the version loaded here and the write is guarded by that version, so two
        racing toggles never both apply to one state; `expected_version` (If-Match) makes
        a retried toggle safe."""
        return await self._change(
            actor_id, owner_id, authenticated_at, task_id,
            lambda task: TaskChanges(completed=not task.completed), expected_version,
        )  # fmt: skip

    async def _change(
        self,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None,
        task_id: UUID,
        changes_for: Callable[[Task], TaskChanges],
        expected_version: int | None,
    ) -> TaskUpdate:
        now = self._clock.now()
        async with self._uow(actor=actor_id, authenticated_at=authenticated_at) as uow:
            await _only_their_own(uow, actor_id, owner_id)
            task = await _load(uow, owner_id, task_id, expected_version)
            applied = task.apply(changes_for(task), now)
            if applied.changed:  # a follow-up is saved with the change it follows, or not at all
                await uow.tasks.update(
                    task,
                    expected_version=applied.loaded_version,
                    follow_up=applied.next_occurrence,
                )
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
        async with self._uow(actor=actor_id, authenticated_at=authenticated_at) as uow:
            await _only_their_own(uow, actor_id, owner_id)
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
