"""Bodies of the task routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from todo_core import Priority


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# "High", "HIGH" and "high" all work; the schema still documents the three values.
PriorityIn = Annotated[Priority, BeforeValidator(_lower)]
Tags = Annotated[list[str], Field(max_length=100, description="At most 20 after normalising")]
Title = Annotated[str, Field(max_length=1024, description="1 to 255 characters after trimming")]
Description = Annotated[str, Field(max_length=10_000)]
Recurrence = Annotated[
    str,
    Field(
        max_length=255,
        description="RRULE subset (FREQ, INTERVAL, BYDAY, BYMONTHDAY, COUNT or UNTIL) or "
        "daily / weekly / monthly / yearly; needs a due date",
        examples=["FREQ=WEEKLY;BYDAY=MO,WE", "monthly"],
    ),
]


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    priority: PriorityIn = Priority.MEDIUM
    due_date: AwareDatetime | None = Field(default=None, description="ISO 8601 with offset")
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None


class TaskPatch(BaseModel):
    """Only the fields sent change; `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    priority: PriorityIn | None = None
    due_date: AwareDatetime | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    completed: bool | None = Field(
        default=None, description="true completes, false reopens (never a toggle)"
    )


class TaskPublic(BaseModel):
    id: UUID
    user_id: UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: Priority
    due_date: datetime | None
    tags: list[str]
    recurrence: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class TaskUpdated(TaskPublic):
    next_occurrence: TaskPublic | None = Field(
        default=None, description="The next task of a recurring series, created on completion"
    )


class TaskList(BaseModel):
    items: list[TaskPublic]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
