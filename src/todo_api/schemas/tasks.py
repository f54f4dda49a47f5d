"""Bodies of the task routes."""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Any, get_type_hints

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from todo_core import Priority, Task


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# "High", "HIGH" and "high" all work; the schema still documents the three values.
PriorityIn = Annotated[Priority, BeforeValidator(_lower)]


def not_a_number(value: object) -> object:
    # pydantic reads 0 or "0.5" as a Unix timestamp; the API documents ISO 8601 date-times only.
    try:
        float(str(value))
    except ValueError:
        return value
    raise ValueError("must be an ISO 8601 date and time with an offset")


# An ISO 8601 date and time with an offset (not a number), in bodies and queries alike.
Moment = Annotated[AwareDatetime, BeforeValidator(not_a_number)]
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
    due_date: Moment | None = Field(default=None, description="ISO 8601 with offset")
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None


class TaskPatch(BaseModel):
    """Only the fields sent change; `null` clears an optional field."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    priority: PriorityIn | None = None
    due_date: Moment | None = None
    tags: Tags | None = None
    recurrence: Recurrence | None = None
    completed: bool | None = Field(
        default=None, description="true completes, false reopens (never a toggle)"
    )


class TaskReplace(BaseModel):
    """PUT on the compatibility surface: every editable field; one left out is cleared (or
    reset to its default). `completed` left out keeps the task's state."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description | None = None
    priority: PriorityIn = Priority.MEDIUM
    due_date: Moment | None = Field(default=None, description="ISO 8601 with offset")
    tags: Tags = Field(default_factory=list)
    recurrence: Recurrence | None = None
    # Strict: `0` or "false" is not a boolean (the fuzzer sends them; refuse, 422).
    completed: StrictBool | None = Field(
        default=None, description="true completes, false reopens; left out: unchanged"
    )


def _public(entity: type[Any], name: str) -> type[BaseModel]:
    """A response model with every field of `entity`, typed as the entity types it, in its
    order: the entity is the one list of a task's fields (the table's columns are checked
    against it by the repository; the OpenAPI document then shows any change to it)."""
    hints = get_type_hints(entity)
    members: dict[str, Any] = {field.name: (hints[field.name], ...) for field in fields(entity)}
    return create_model(name, __module__=__name__, **members)


TaskPublic = _public(Task, "TaskPublic")
_NEXT = "The next task of a recurring series, created on completion"
_NEXT_TYPE: Any = TaskPublic | None
TaskUpdated = create_model(
    "TaskUpdated",
    __base__=TaskPublic,
    __module__=__name__,
    next_occurrence=(_NEXT_TYPE, Field(default=None, description=_NEXT)),
)


class TaskList(BaseModel):
    items: list[TaskPublic]  # type: ignore[valid-type]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")
