"""Where tasks come from: creation from raw input, and the follow-up of a recurring task."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from functools import partial
from uuid import UUID, uuid4

from todo_core.domain.recurrence import next_occurrence, parse_recurrence
from todo_core.domain.tasks import (
    Priority,
    Task,
    check_due_date,
    normalize_description,
    normalize_priority,
    normalize_tags,
    normalize_title,
)
from todo_core.domain.validation import Checks


def normalize_recurrence(value: str | None) -> str | None:
    return None if value is None or not value.strip() else parse_recurrence(value)


def check_schedule(checks: Checks, recurrence: str | None, due_date: datetime | None) -> None:
    """A rule needs a start: the due date is the first occurrence of the series."""
    if recurrence is not None and due_date is None:
        checks.add("recurrence", "a recurring task needs a due date")


def new_task(
    *,
    user_id: UUID,
    title: str,
    now: datetime,
    description: str | None = None,
    priority: str | Priority | None = None,
    due_date: datetime | None = None,
    tags: Iterable[str] = (),
    recurrence: str | None = None,
) -> Task:
    """A pending task at version 1; every failing field is reported in one ValidationError."""
    checks = Checks()
    task = Task(
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


def follow_up(task: Task, now: datetime) -> Task | None:
    """The next occurrence of a recurring task as a new pending task, or None when none is due."""
    if task.recurrence is None or task.due_date is None:
        return None
    following = next_occurrence(task.recurrence, due=task.due_date, now=now)
    if following is None:
        return None
    due_date, rule = following
    return replace(
        task,
        id=uuid4(),
        completed=False,
        completed_at=None,
        due_date=due_date,
        recurrence=rule,
        version=1,
        created_at=now,
        updated_at=now,
    )
