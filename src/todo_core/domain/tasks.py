"""Tasks, their priorities and the rules for every task field.

Versioning: `version` counts saves, not edits. Every change goes through `touch(now)`, which sets
`updated_at = now` and `version = <version when loaded> + 1`, however many changes a unit of
work makes. A repository's `update(task, expected_version=v)` therefore writes the entity's
`version` as given, guarded by `WHERE id = :id AND version = :v` (v is the loaded version).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from todo_core.domain.validation import clean_text, to_utc
from todo_core.errors import ValidationError

TITLE_MAX = 255
DESCRIPTION_MAX = 10_000
TAG_MAX, TAGS_MAX = 10, 20


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


@dataclass
class Task:
    """A todo item. Invariants: `completed_at` is set exactly when `completed`; a recurring task
    has a due date; all times are aware UTC.

    `_loaded_version` is bookkeeping for `touch`, not data: it is left out of `==` and `repr`
    and reset on every construction (adapters build entities from rows; `replace` rebuilds).
    """

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
    _loaded_version: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Adapters hand over lists, plain strings and session-zone times; keep the types honest.
        self._loaded_version = self.version
        self.priority = Priority(self.priority)
        self.tags = tuple(self.tags)
        self.created_at = to_utc("created_at", self.created_at)
        self.updated_at = to_utc("updated_at", self.updated_at)
        self.due_date = None if self.due_date is None else to_utc("due_date", self.due_date)
        self.completed_at = (
            None if self.completed_at is None else to_utc("completed_at", self.completed_at)
        )

    def touch(self, now: datetime) -> None:
        """Record a change: one version step per save, see the module docstring."""
        self.updated_at = now
        self.version = self._loaded_version + 1

    def complete(self, now: datetime) -> bool:
        """Mark completed; returns False (and changes nothing) if it already was."""
        if self.completed:
            return False
        self.completed, self.completed_at = True, now
        self.touch(now)
        return True

    def reopen(self, now: datetime) -> bool:
        """Mark pending again; returns False (and changes nothing) if it already was."""
        if not self.completed:
            return False
        self.completed, self.completed_at = False, None
        self.touch(now)
        return True

    def is_overdue(self, now: datetime) -> bool:
        return not self.completed and self.due_date is not None and self.due_date < now


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
