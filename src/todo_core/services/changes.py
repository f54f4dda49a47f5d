"""A partial update of a task, and how it is applied.

`TaskChanges` fields default to `UNSET` ("leave as is"); None means "clear" for nullable
fields. Applying validates every given field first and changes nothing if any fails.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal, TypeVar

from todo_core.domain.lifecycle import check_schedule, normalize_recurrence
from todo_core.domain.tasks import (
    Priority,
    Task,
    check_due_date,
    normalize_description,
    normalize_priority,
    normalize_tags,
    normalize_title,
)
from todo_core.domain.validation import Checks, to_utc

A = TypeVar("A")
T = TypeVar("T")


class _Unset(enum.Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


@dataclass(frozen=True)
class TaskChanges:
    title: str | Unset = UNSET
    description: str | Unset | None = UNSET
    priority: str | Priority | Unset = UNSET
    due_date: datetime | Unset | None = UNSET
    tags: Iterable[str] | Unset = UNSET
    recurrence: str | Unset | None = UNSET
    completed: bool | Unset = UNSET


def _pick(checks: Checks, current: T, value: A | Unset, rule: Callable[[A], T]) -> T:
    """The validated new value, or `current` when the field is unset or invalid."""
    if value is UNSET:
        return current
    return checks.run(rule, value, current)


def _due_date_rule(task: Task, now: datetime) -> Callable[[datetime | None], datetime | None]:
    def rule(value: datetime | None) -> datetime | None:
        # Existing tasks may be overdue: only a due date that actually moves must be in the future.
        if value is not None and to_utc("due_date", value) == task.due_date:
            return task.due_date
        return check_due_date(value, now)

    return rule


def apply_changes(task: Task, changes: TaskChanges, now: datetime) -> bool:
    """Apply the field changes (not `completed`); returns whether anything changed."""
    checks = Checks()
    due_date = _pick(checks, task.due_date, changes.due_date, _due_date_rule(task, now))
    recurrence = _pick(checks, task.recurrence, changes.recurrence, normalize_recurrence)
    if all(error.field != "due_date" for error in checks.errors):
        check_schedule(checks, recurrence, due_date)
    fields = {
        "title": _pick(checks, task.title, changes.title, normalize_title),
        "description": _pick(checks, task.description, changes.description, normalize_description),
        "priority": _pick(checks, task.priority, changes.priority, normalize_priority),
        "tags": _pick(checks, task.tags, changes.tags, normalize_tags),
        "due_date": due_date,
        "recurrence": recurrence,
    }
    checks.raise_if_any()
    changed = {name: value for name, value in fields.items() if getattr(task, name) != value}
    for name, value in changed.items():
        setattr(task, name, value)
    if changed:
        task.touch(now)
    return bool(changed)
