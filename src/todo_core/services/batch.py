"""Atomic batches: up to `MAX_OPERATIONS` task operations applied in order in one unit of work.

An offline client replays its whole queue in one request. A `create` may name its task with a
client-chosen `ref`, and later operations target that task by the same `ref` (others target an
existing task by `task_id`). Any operation may carry the version it expects. The first failure
stops the batch with `BatchFailed(index, op, cause)` and the unit of work rolls back, so
nothing of the batch is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from todo_core.domain.tasks import EDITABLE_FIELDS, UNSET, Task, TaskChanges
from todo_core.errors import BatchFailed, NotFound, TodoError, ValidationError, VersionMismatch
from todo_core.ports import UnitOfWork
from todo_core.services.operations import load_to_change

MAX_OPERATIONS: Final = 100
OPERATIONS: Final = ("create", "update", "complete", "reopen", "delete")


@dataclass(frozen=True, kw_only=True)
class BatchOperation:
    op: str  # one of OPERATIONS
    ref: str | None = None  # create: names the new task; others: a task created earlier
    task_id: UUID | None = None  # others: an existing task
    changes: TaskChanges = field(default_factory=TaskChanges)  # create's fields, update's changes
    expected_version: int | None = None


@dataclass(frozen=True)
class BatchResult:
    op: str
    ref: str | None
    task_id: UUID
    task: Task | None  # None after a delete
    next_occurrence: Task | None = None  # completing a recurring task
    touched: tuple[UUID, ...] = ()  # the tasks this operation wrote


async def run_batch(
    uow: UnitOfWork, owner_id: UUID, operations: Sequence[BatchOperation], now: datetime
) -> list[BatchResult]:
    if not 1 <= len(operations) <= MAX_OPERATIONS:
        raise ValidationError.of("operations", f"must hold 1 to {MAX_OPERATIONS} operations")
    state = _Batch(uow, owner_id, now)
    results = []
    for index, operation in enumerate(operations):
        try:
            results.append(await state.run(operation))
        except TodoError as error:
            raise BatchFailed(index, operation.op, error) from error
    return results


class _Batch:
    """The batch's own view of the tasks it touched. A unit of work may send its writes only
    at commit (PostgreSQL does), so a later operation on the same task works on the copy kept
    here, never on a stale read; the writes then apply in order, in one transaction."""

    def __init__(self, uow: UnitOfWork, owner_id: UUID, now: datetime) -> None:
        self._uow, self._owner, self._now = uow, owner_id, now
        self._refs: dict[str, UUID] = {}
        self._known: dict[UUID, Task | None] = {}  # None: deleted by this batch
        self._followed_up: set[UUID] = set()  # tasks whose next occurrence exists

    async def run(self, operation: BatchOperation) -> BatchResult:
        op, ref = operation.op, operation.ref
        if op == "create":
            task = _new(self._owner, operation, self._refs, self._now)
            await self._uow.tasks.add(task)
            if ref is not None:
                self._refs[ref] = task.id
            self._known[task.id] = task
            return BatchResult(op, ref, task.id, task, touched=(task.id,))
        if op not in OPERATIONS:
            raise ValidationError.of("op", f"must be one of: {', '.join(OPERATIONS)}")
        task_id = _target(operation, self._refs)
        task = await self._load(task_id, operation.expected_version)
        if op == "delete":
            await self._uow.tasks.delete(
                user_id=self._owner, task_id=task_id, expected_version=task.version
            )
            self._known[task_id] = None
            return BatchResult(op, ref, task_id, None, touched=(task_id,))
        return await self._change(operation, task)

    async def _change(self, operation: BatchOperation, task: Task) -> BatchResult:
        changes = {
            "update": operation.changes,
            "complete": TaskChanges(completed=True),
            "reopen": TaskChanges(completed=False),
        }[operation.op]
        applied = task.apply(changes, self._now, followed_up=task.id in self._followed_up)
        following = applied.next_occurrence
        touched: tuple[UUID, ...] = ()
        if applied.changed:
            await self._uow.tasks.update(
                task, expected_version=applied.loaded_version, follow_up=following
            )
            touched = (task.id,) if following is None else (task.id, following.id)
        if following is not None:
            self._known[following.id] = following
            self._followed_up.add(task.id)
        self._known[task.id] = task
        return BatchResult(operation.op, operation.ref, task.id, replace(task), following, touched)

    async def _load(self, task_id: UUID, expected: int | None) -> Task:
        if task_id in self._known:
            task = self._known[task_id]
            if task is None:
                raise NotFound("task")
            if expected is not None and expected != task.version:
                raise VersionMismatch(task.version)
            return task
        loaded = await load_to_change(self._uow, self._owner, task_id, expected)
        if loaded.followed_up:
            self._followed_up.add(task_id)
        return loaded.task


def _new(owner_id: UUID, operation: BatchOperation, refs: dict[str, UUID], now: datetime) -> Task:
    if operation.ref is not None and operation.ref in refs:
        raise ValidationError.of("ref", "already names a task created earlier in this batch")
    if operation.task_id is not None or operation.expected_version is not None:
        raise ValidationError.of("task_id", "a create takes neither a task id nor a version")
    changes = operation.changes
    if changes.title is UNSET:
        raise ValidationError.of("title", "is required")
    if changes.completed is not UNSET:
        raise ValidationError.of("completed", "a new task starts pending")
    given: dict[str, Any] = {
        name: getattr(changes, name)
        for name in EDITABLE_FIELDS
        if getattr(changes, name) is not UNSET
    }
    if given.get("tags", ()) is None:
        given["tags"] = ()
    return Task.create(user_id=owner_id, now=now, **given)


def _target(operation: BatchOperation, refs: dict[str, UUID]) -> UUID:
    if (operation.ref is None) == (operation.task_id is None):
        raise ValidationError.of("task_id", "give either `task_id` or the `ref` of a new task")
    if operation.task_id is not None:
        return operation.task_id
    assert operation.ref is not None
    if operation.ref not in refs:
        raise ValidationError.of("ref", "names no task created earlier in this batch")
    return refs[operation.ref]
