"""Task operations inside an open unit of work, shared by the single writes and the batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_core.domain.tasks import Task, TaskChanges
from todo_core.errors import Forbidden, NotFound, VersionMismatch
from todo_core.ports import UnitOfWork


@dataclass(frozen=True)
class TaskUpdate:
    task: Task
    next_occurrence: Task | None  # the follow-up created by completing a recurring task
    changed: bool = True  # False: nothing to save (completing a completed task, ...)

    @property
    def touched(self) -> tuple[UUID, ...]:
        """The tasks this update wrote."""
        if not self.changed:
            return ()
        following = () if self.next_occurrence is None else (self.next_occurrence.id,)
        return (self.task.id, *following)


async def only_their_own(uow: UnitOfWork, actor_id: UUID, owner_id: UUID) -> None:
    if actor_id != owner_id:
        await uow.check_actor()  # a refused actor hears that first
        raise Forbidden()


async def update_task(
    uow: UnitOfWork,
    owner_id: UUID,
    task_id: UUID,
    changes: TaskChanges | Callable[[Task], TaskChanges],
    expected_version: int | None,
    now: datetime,
) -> TaskUpdate:
    """Load, apply the entity's rule, save what changed, and add the follow-up if any.
    `changes` may depend on the loaded task (a toggle)."""
    task = await load_task(uow, owner_id, task_id, expected_version)
    applied = task.apply(changes(task) if callable(changes) else changes, now)
    if applied.changed:  # a follow-up is saved with the change it follows, or not at all
        await uow.tasks.update(
            task, expected_version=applied.loaded_version, follow_up=applied.next_occurrence
        )
    return TaskUpdate(task, applied.next_occurrence, bool(applied.changed))


async def load_task(uow: UnitOfWork, owner_id: UUID, task_id: UUID, expected: int | None) -> Task:
    """The owner's task, at the version the caller last saw if they name one."""
    task = await uow.tasks.get(user_id=owner_id, task_id=task_id)
    if task is None:
        raise NotFound("task")
    if expected is not None and expected != task.version:
        raise VersionMismatch(task.version)
    return task
