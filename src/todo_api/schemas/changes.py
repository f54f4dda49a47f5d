"""Bodies of `GET /users/{user_id}/changes`: the change feed."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from todo_api.responses import task_body
from todo_api.schemas.tasks import TaskPublic
from todo_core import Change, ChangePage


class UpsertChange(BaseModel):
    op: Literal["upsert"]
    task: TaskPublic = Field(  # type: ignore[valid-type]
        description="The task as it is now (as GET returns it)"
    )


class DeleteChange(BaseModel):
    op: Literal["delete"]
    id: UUID = Field(description="The deleted task's id (a tombstone)")


class ChangeFeed(BaseModel):
    changes: list[Annotated[UpsertChange | DeleteChange, Field(discriminator="op")]]
    next_cursor: str = Field(description="Pass as `cursor` for the next page, or the next poll")
    has_more: bool = Field(description="true: fetch the next page now; false: you are up to date")


def change_body(change: Change) -> dict[str, Any]:
    if change.task is None:
        return {"op": "delete", "id": change.task_id}
    return {"op": "upsert", "task": task_body(change.task)}


def feed_body(page: ChangePage) -> dict[str, Any]:
    return {
        "changes": [change_body(change) for change in page.changes],
        "next_cursor": page.next_cursor.encode(),
        "has_more": page.has_more,
    }
