"""Task operations inside an open unit of work, shared by the single writes and the batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from todo_core.domain.tasks import Task, TaskChanges
from todo_core.errors import Forbidden, NotFound, VersionMismatch
from todo_core.ports import ToChange, UnitOfWork


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
    loaded = await load_to_change(uow, owner_id, task_id, expected_version)
    task = loaded.task
    applied = task.apply(
        changes(task) if callable(changes) else changes, now, followed_up=loaded.followed_up
    )
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
    _check_version(task, expected)
    return task


async def load_to_change(
    uow: UnitOfWork, owner_id: UUID, task_id: UUID, expected: int | None
) -> ToChange:
    """`load_task`, with whether the task's next occurrence already exists."""
    loaded = await uow.tasks.get_to_change(user_id=owner_id, task_id=task_id)
    if loaded is None:
        raise NotFound("task")
    _check_version(loaded.task, expected)
    return loaded


def _check_version(task: Task, expected: int | None) -> None:
    if expected is not None and expected != task.version:
        raise VersionMismatch(task.version)
