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
from pydantic.json_schema import SkipJsonSchema

from todo_core import Priority, Task
from todo_core.domain.tasks import (
    DESCRIPTION_MAX,
    EDITABLE_FIELDS,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    TaskChanges,
)


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


# Every rule about one field is in the schema, so client generators and form validators apply
# it too (and anything the schema calls valid is accepted). The domain still enforces them and
# names the field in its 422 (`title`), as before: the rules are documented (`documented`),
# while validation here keeps its generous outer bounds. Rules across fields or about state (a
# recurring task needs a due date; a due date may not lie in the past) are in the docs.
NO_NUL = r"^[^\u0000]*$"  # PostgreSQL text cannot hold NUL
# Whitespace as Python's str.strip() sees it, spelled out: regex `\s` differs between engines
# (ECMAScript's lacks U+001C..U+001F and U+0085, and has U+FEFF).
WHITESPACE = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"  # something besides whitespace


def trimmed(low: int, high: int) -> str:
    """No NUL, and `low` to `high` characters once surrounding whitespace is trimmed."""
    edge, any_ = f"[^\\u0000{WHITESPACE}]", "[^\\u0000]"
    core = f"{edge}({any_}{{0,{high - 2}}}{edge})?" if high > 1 else edge
    body = f"({core})?" if low == 0 else core
    return f"^[{WHITESPACE}]*{body}[{WHITESPACE}]*$"


def documented(**rules: Any) -> dict[str, Any]:
    """JSON Schema keywords for the schema only (`min_length` -> `minLength`)."""
    words = {"min_length": "minLength", "max_length": "maxLength", "max_items": "maxItems"}
    return {words.get(name, name): value for name, value in rules.items()}


Tag = Annotated[
    str,
    Field(
        max_length=1024,
        description="Lower-cased",
        json_schema_extra=documented(min_length=1, pattern=trimmed(1, TAG_MAX)),
    ),
]
Tags = Annotated[
    list[Tag],
    Field(
        max_length=100,
        description="Trimmed, lower-cased, duplicates dropped",
        json_schema_extra=documented(max_items=TAGS_MAX),
    ),
]
Title = Annotated[
    str,
    Field(
        max_length=1024,
        description=f"1 to {TITLE_MAX} characters, not blank; stored trimmed",
        json_schema_extra=documented(min_length=1, pattern=trimmed(1, TITLE_MAX)),
    ),
]
Description = Annotated[
    str,
    Field(
        max_length=DESCRIPTION_MAX,
        description="A blank description is none",
        json_schema_extra=documented(pattern=NO_NUL),
    ),
]
_DAY = "(MO|TU|WE|TH|FR|SA|SU)"
_INTERVAL = "(;INTERVAL=[1-9][0-9]{0,2})?"
_COUNT = "(;COUNT=[1-9][0-9]{0,2})?"
RECURRENCE = (  # blank is no recurrence
    f"^([{WHITESPACE}]*|daily|weekly|monthly|yearly|DAILY|WEEKLY|MONTHLY|YEARLY"
    f"|FREQ=(DAILY|MONTHLY|YEARLY){_INTERVAL}{_COUNT}"
    f"|FREQ=WEEKLY{_INTERVAL}(;BYDAY={_DAY}(,{_DAY}){{0,6}})?{_COUNT})$"
)
Recurrence = Annotated[
    str,
    Field(
        max_length=255,
        description="daily / weekly / monthly / yearly, or an RRULE: FREQ, then INTERVAL, "
        "BYDAY (weekly) and COUNT, in that order (lower case and the other RRULE parts the "
        "server also understands are not promised). Needs a due date.",
        examples=["FREQ=WEEKLY;BYDAY=MO,WE", "monthly"],
        json_schema_extra=documented(max_length=200, pattern=RECURRENCE),
    ),
]


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def documented_not_null(**rules: Any) -> Any:
    """`documented`, for a field that may be left out but not sent as null."""

    def update(schema: dict[str, Any]) -> None:
        schema.update(documented(**rules))
        _no_default(schema)

    return update


# PATCH: leaving a field out leaves it unchanged; these may not be null (the others may, to
# clear): the schema says so, and the route answers an explicit null with 422.
_NOT_NULL = Field(default=None, json_schema_extra=_no_default)


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

    title: Title | SkipJsonSchema[None] = _NOT_NULL
    description: Description | None = None
    priority: PriorityIn | SkipJsonSchema[None] = _NOT_NULL
    due_date: Moment | None = None
    tags: Tags | SkipJsonSchema[None] = _NOT_NULL
    recurrence: Recurrence | None = None
    completed: StrictBool | SkipJsonSchema[None] = Field(
        default=None,
        description="true completes, false reopens (never a toggle)",
        json_schema_extra=_no_default,
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


def editable_changes(body: TaskCreate | TaskReplace) -> TaskChanges:
    """Every editable field of `body`, sent or defaulted: what a create or a replace sets."""
    return TaskChanges(**{name: getattr(body, name) for name in EDITABLE_FIELDS})


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
