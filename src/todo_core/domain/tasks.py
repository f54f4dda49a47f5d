"""Tasks: the entity and every rule about a task, in one place.

A task is made by `Task.create(...)` from raw input and changed by `task.apply(changes, now)`,
which validates a partial update (`TaskChanges`), applies it as one edit and returns what
follows from it (`Applied`: what changed, the version to guard the save on, and the next
occurrence that completing a recurring task creates). A service loads a task, applies the
changes, saves what `Applied` says, and commits; it holds no task rule of its own.

Versioning: `version` counts saves, not edits. One `apply` is one edit: when anything changes,
`updated_at = now` and `version` steps by one, however many fields changed. A repository's
`update(task, expected_version=applied.loaded_version)` writes the entity's `version` as given,
guarded by `WHERE id = :id AND version = :loaded`. Apply once per loaded task and unit of work.

The entity holds domain types only (a `Priority`, a tuple of tags, aware UTC times): adapters
convert driver values when they map rows (see `todo_core.postgres.repositories`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any, Final, Literal, Self, TypeVar
from uuid import UUID, uuid4

from todo_core.domain.recurrence import next_occurrence, parse_recurrence
from todo_core.domain.validation import Checks, clean_text, to_utc
from todo_core.errors import ValidationError

TITLE_MAX = 255
DESCRIPTION_MAX = 10_000
TAG_MAX, TAGS_MAX = 10, 20

A = TypeVar("A")
T = TypeVar("T")


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @classmethod
    def parse(cls, value: str) -> Priority:
        """Case-insensitive, so "High" works."""
        try:
            return cls(value.strip().lower())
        except (ValueError, AttributeError):
            raise ValidationError.of("priority", "must be one of: low, medium, high") from None

    @property
    def rank(self) -> int:
        """Sort order: low < medium < high (declaration order, as in the database enum)."""
        return list(Priority).index(self)


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@dataclass(frozen=True)
class TaskChanges:
    """A partial update: the fields a client may change. Each defaults to `UNSET` ("leave as
    is"); None means "clear" for the nullable ones. `completed` true completes, false reopens
    (never a toggle)."""

    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    priority: str | Priority | Unset = UNSET
    due_date: datetime | Unset | None = UNSET
    tags: Iterable[str] | Unset = UNSET
    recurrence: str | Unset | None = UNSET
    completed: bool | Unset = UNSET


# What a new task is made of, and what a full replace sets: every changeable field but the state.
EDITABLE_FIELDS: Final = tuple(
    name for name in TaskChanges.__dataclass_fields__ if name != "completed"
)


@dataclass(frozen=True)
class Applied:
    """What follows from `Task.apply`.

    `changed`: the names of the fields that changed, in the order applied; empty when nothing
    did (then there is nothing to save). `loaded_version`: the version the task had before,
    which the save must still find stored. `next_occurrence`: the follow-up task that
    completing a recurring task creates, to be added in the same unit of work.
    """

    changed: tuple[str, ...]
    loaded_version: int
    next_occurrence: Task | None = None


@dataclass
class Task:
    """A todo item. Invariants: `completed_at` is set exactly when `completed`; a recurring task
    has a due date; all times are aware UTC."""

    id: UUID
    user_id: UUID
    title: str
    description: str | None
    completed: bool
    completed_at: datetime | None
    priority: Priority
    due_date: datetime | None
    tags: tuple[str, ...]
    recurrence: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(
        cls,
        *,
        user_id: UUID,
        title: str,
        now: datetime,
        description: str | None = None,
        priority: str | Priority | None = None,
        due_date: datetime | None = None,
        tags: Iterable[str] = (),
        recurrence: str | None = None,
    ) -> Self:
        """A pending task at version 1; every failing field is reported in one ValidationError."""
        checks = Checks()
        task = cls(
            id=uuid4(),
            user_id=user_id,
            title=checks.run(normalize_title, title, ""),
            description=checks.run(normalize_description, description, None),
            completed=False,
            completed_at=None,
            priority=checks.run(normalize_priority, priority, Priority.MEDIUM),
            due_date=checks.run(partial(check_due_date, now=now), due_date, None),
            tags=checks.run(normalize_tags, tags, ()),
            recurrence=checks.run(normalize_recurrence, recurrence, None),
            version=1,
            created_at=now,
            updated_at=now,
        )
        if all(error.field != "due_date" for error in checks.errors):  # else already reported
            check_schedule(checks, task.recurrence, task.due_date)
        checks.raise_if_any()
        return task

    def apply(self, changes: TaskChanges, now: datetime, *, followed_up: bool = False) -> Applied:
        """Apply a partial update as one edit (see the module docstring for the version).

        Every given field is validated first, and nothing changes if any fails (one
        ValidationError names each failing field). Fields come before completion, so the
        follow-up of a completed recurring task inherits the new fields and due date.
        Completing a completed task, or reopening a pending one, changes nothing. An occurrence
        has at most one next occurrence, ever: none when `followed_up` (completed before,
        reopened, completed again).
        """
        values = self._validated(changes, now)
        values.update(self._completion(changes.completed, now))
        changed = tuple(name for name, value in values.items() if getattr(self, name) != value)
        loaded_version = self.version
        if not changed:
            return Applied(changed, loaded_version)
        for name in changed:
            setattr(self, name, values[name])
        self.updated_at, self.version = now, loaded_version + 1
        completed = "completed" in changed and self.completed and not followed_up
        return Applied(changed, loaded_version, self.follow_up(now) if completed else None)

    def follow_up(self, now: datetime) -> Task | None:
        """The next occurrence of this recurring task as a new pending task, or None when none
        is due (not recurring, or the rule's COUNT or UNTIL is exhausted)."""
        if self.recurrence is None or self.due_date is None:
            return None
        following = next_occurrence(self.recurrence, due=self.due_date, now=now)
        if following is None:
            return None
        due_date, rule = following
        return replace(
            self,
            id=uuid4(),
            completed=False,
            completed_at=None,
            due_date=due_date,
            recurrence=rule,
            version=1,
            created_at=now,
            updated_at=now,
        )

    def complete(self, now: datetime) -> bool:
        """`apply(TaskChanges(completed=True), now)` without its follow-up; returns whether
        anything changed (False if it already was completed)."""
        return bool(self.apply(TaskChanges(completed=True), now).changed)

    def reopen(self, now: datetime) -> bool:
        """`apply(TaskChanges(completed=False), now)`; False if it already was pending."""
        return bool(self.apply(TaskChanges(completed=False), now).changed)

    def is_overdue(self, now: datetime) -> bool:
        return not self.completed and self.due_date is not None and self.due_date < now

    def _validated(self, changes: TaskChanges, now: datetime) -> dict[str, Any]:
        """The new value of every field `changes` names (unnamed ones keep theirs)."""
        checks = Checks()
        due_date = _pick(checks, self.due_date, changes.due_date, partial(self._move_due, now=now))
        recurrence = _pick(checks, self.recurrence, changes.recurrence, normalize_recurrence)
        if all(error.field != "due_date" for error in checks.errors):
            check_schedule(checks, recurrence, due_date)
        values = {
            "title": _pick(checks, self.title, changes.title, normalize_title),
            "description": _pick(
                checks, self.description, changes.description, normalize_description
            ),
            "priority": _pick(checks, self.priority, changes.priority, normalize_priority),
            "tags": _pick(checks, self.tags, changes.tags, normalize_tags),
            "due_date": due_date,
            "recurrence": recurrence,
        }
        checks.raise_if_any()
        return values

    def _move_due(self, value: datetime | None, now: datetime) -> datetime | None:
        # Existing tasks may be overdue: only a due date that actually moves must be in the future.
        if value is not None and to_utc("due_date", value) == self.due_date:
            return self.due_date
        return check_due_date(value, now)

    def _completion(self, completed: bool | Unset, now: datetime) -> dict[str, Any]:
        if completed is True and not self.completed:
            return {"completed": True, "completed_at": now}
        if completed is False and self.completed:
            return {"completed": False, "completed_at": None}
        return {}


def _pick(checks: Checks, current: T, value: A | Unset, rule: Callable[[A], T]) -> T:
    """The validated new value, or `current` when the field is unset or invalid."""
    if value is UNSET:
        return current
    return checks.run(rule, value, current)


def normalize_title(value: str) -> str:
    return clean_text("title", value, max_length=TITLE_MAX, min_length=1)


def normalize_description(value: str | None) -> str | None:
    """Kept as written (leading spaces may be meaningful markup); blank becomes None."""
    if value is None:
        return None
    if not clean_text("description", value, max_length=DESCRIPTION_MAX):
        return None
    if len(value) > DESCRIPTION_MAX:  # the stored text is untrimmed, so its length counts
        raise ValidationError.of("description", f"must be at most {DESCRIPTION_MAX} characters")
    return value


def normalize_priority(value: str | Priority | None) -> Priority:
    return Priority.MEDIUM if value is None else Priority.parse(value)


def normalize_tags(values: Iterable[str] | None) -> tuple[str, ...]:
    """Trimmed, lower-cased, de-duplicated in first-seen order; 1..10 chars each, at most 20.

    None counts as no tags, so a JSON `null` clears them rather than failing.
    """
    if values is None:
        return ()
    if isinstance(values, str):
        raise ValidationError.of("tags", "must be a list of strings")
    tags: dict[str, None] = {}  # a dict keeps first-seen order while removing duplicates
    for value in values:
        tag = clean_text("tags", value, max_length=TAG_MAX).lower()
        if not tag:
            raise ValidationError.of("tags", "must not contain empty tags")
        tags[tag] = None
    if len(tags) > TAGS_MAX:
        raise ValidationError.of("tags", f"must hold at most {TAGS_MAX} distinct tags")
    return tuple(tags)


def check_due_date(due: datetime | None, now: datetime) -> datetime | None:
    """A new or changed due date, in UTC; it may not lie in the past."""
    if due is None:
        return None
    due = to_utc("due_date", due)
    if due < now:
        raise ValidationError.of("due_date", "must not be in the past")
    return due


def normalize_recurrence(value: str | None) -> str | None:
    return None if value is None or not value.strip() else parse_recurrence(value)


def check_schedule(checks: Checks, recurrence: str | None, due_date: datetime | None) -> None:
    """A rule needs a start: the due date is the first occurrence of the series."""
    if recurrence is not None and due_date is None:
        checks.add("recurrence", "a recurring task needs a due date")
