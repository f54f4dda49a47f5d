"""Bodies of `POST /users/{user_id}/tasks/batch`: the operations in, each one's result out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from todo_api.responses import etag, task_body
from todo_api.schemas.tasks import TaskCreate, TaskPatch, TaskPublic, editable_changes
from todo_core import MAX_OPERATIONS, BatchOperation, BatchResult, TaskChanges

Ref = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:~-]+$",
        description="A name of the client's choice for a task created earlier in this batch",
        examples=["new-1"],
    ),
]
Version = Annotated[
    int, Field(ge=1, le=2**31 - 1, description="Fail (412) unless the task is at this version")
]


class _Targeted(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(default=None, description="An existing task (or give `ref`)")
    ref: Ref | None = None
    expected_version: Version | None = None


class CreateOperation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: Literal["create"]
    ref: Ref | None = Field(default=None, description="Name the new task for later operations")
    data: TaskCreate


class UpdateOperation(_Targeted):
    op: Literal["update"]
    data: TaskPatch


class CompleteOperation(_Targeted):
    op: Literal["complete"]


class ReopenOperation(_Targeted):
    op: Literal["reopen"]


class DeleteOperation(_Targeted):
    op: Literal["delete"]


Operation = Annotated[
    CreateOperation | UpdateOperation | CompleteOperation | ReopenOperation | DeleteOperation,
    Field(discriminator="op"),
]


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    operations: list[Operation] = Field(min_length=1, max_length=MAX_OPERATIONS)


class BatchItemResult(BaseModel):
    index: int
    op: str
    ref: str | None
    id: UUID
    status: int = Field(description="What the single request would have answered: 201, 200, 204")
    task: TaskPublic | None = Field(  # type: ignore[valid-type]
        description="The task after the operation; null if deleted"
    )
    etag: str | None
    next_occurrence: TaskPublic | None = None  # type: ignore[valid-type]


class BatchResponse(BaseModel):
    results: list[BatchItemResult]


def operation_of(item: Any, changes_of: Callable[[TaskPatch], TaskChanges]) -> BatchOperation:
    if isinstance(item, CreateOperation):
        return BatchOperation(op="create", ref=item.ref, changes=editable_changes(item.data))
    assert isinstance(item, _Targeted)
    changes = changes_of(item.data) if isinstance(item, UpdateOperation) else TaskChanges()
    return BatchOperation(
        op=item.op,  # type: ignore[attr-defined]
        ref=item.ref,
        task_id=item.id,
        changes=changes,
        expected_version=item.expected_version,
    )


_STATUS = {"create": 201, "delete": 204}


def result_body(index: int, result: BatchResult) -> dict[str, Any]:
    task = result.task
    following = result.next_occurrence
    return {
        "index": index,
        "op": result.op,
        "ref": result.ref,
        "id": result.task_id,
        "status": _STATUS.get(result.op, 200),
        "task": None if task is None else task_body(task),
        "etag": None if task is None else etag(task),
        "next_occurrence": None if following is None else task_body(following),
    }
