"""What a task list asks for (filters, order, page) and what it gets back.

Filter meaning, which every repository implements the same way:
  completed / priority   equality
  tags                   the task carries all of them (`tags @> :tags`)
  due_after, due_before  half-open window: due_after <= due_date < due_before
  overdue=True           not completed, has a due date, due_date < now (now from the clock)
  overdue=False          the opposite: completed, or no due date, or due_date >= now
  text                   case-insensitive substring of title or description
                         (ILIKE with '%', '_' and '\\' escaped)
Order and cursor: see `todo_core.domain.sorting` and `todo_core.domain.pagination`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from todo_core.domain.pagination import PageCursor
from todo_core.domain.sorting import DEFAULT_SORT, SortField, TaskSort
from todo_core.domain.tasks import Priority, Task, normalize_tags
from todo_core.domain.validation import Checks, clean_text, to_utc

__all__ = ["SortField", "TaskPage", "TaskQuery", "TaskSort"]

LIMIT_MAX, LIMIT_DEFAULT, TEXT_MAX = 100, 20, 200
_NO_TAGS: tuple[str, ...] = ()


def _search_text(value: str | None) -> str | None:
    return None if value is None else clean_text("text", value, max_length=TEXT_MAX) or None


@dataclass(frozen=True)
class TaskQuery:
    """A validated list request; constructing one with bad values raises ValidationError."""

    limit: int = LIMIT_DEFAULT
    cursor: PageCursor | None = None
    completed: bool | None = None
    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None
    text: str | None = None
    sort: TaskSort = field(default=DEFAULT_SORT)

    def __post_init__(self) -> None:
        checks = Checks()
        if (
            isinstance(self.limit, bool)
            or not isinstance(self.limit, int)
            or not (1 <= self.limit <= LIMIT_MAX)
        ):
            checks.add("limit", f"must be a whole number from 1 to {LIMIT_MAX}")
        if self.cursor is not None and self.cursor.sort != self.sort:
            checks.add("cursor", "belongs to a different sort order")
        normalised = {
            "priority": checks.run(_priority, self.priority, None),
            "tags": checks.run(normalize_tags, self.tags, _NO_TAGS),
            "text": checks.run(_search_text, self.text, None),
            "due_before": checks.run(_optional_utc("due_before"), self.due_before, None),
            "due_after": checks.run(_optional_utc("due_after"), self.due_after, None),
        }
        checks.raise_if_any()
        for name, value in normalised.items():
            object.__setattr__(self, name, value)  # frozen: normalise once, at construction

    def matches(self, task: Task, now: datetime) -> bool:
        """The filters (not the cursor) applied to one task, as the module docstring defines."""
        return (
            (self.completed is None or task.completed == self.completed)
            and (self.priority is None or task.priority == self.priority)
            and set(self.tags) <= set(task.tags)
            and _within(task.due_date, self.due_after, self.due_before)
            and (self.overdue is None or task.is_overdue(now) == self.overdue)
            and (self.text is None or _contains(task, self.text))
        )


def _priority(value: Priority | str | None) -> Priority | None:
    return None if value is None else Priority.parse(value)


def _optional_utc(name: str) -> Callable[[datetime | None], datetime | None]:
    def convert(value: datetime | None) -> datetime | None:
        return None if value is None else to_utc(name, value)

    return convert


def _within(due: datetime | None, after: datetime | None, before: datetime | None) -> bool:
    if after is None and before is None:
        return True
    return due is not None and (after is None or due >= after) and (before is None or due < before)


def _contains(task: Task, text: str) -> bool:
    needle = text.lower()
    return needle in task.title.lower() or needle in (task.description or "").lower()


@dataclass(frozen=True)
class TaskPage:
    items: tuple[Task, ...]
    next_cursor: PageCursor | None

    @classmethod
    def from_rows(cls, rows: Sequence[Task], query: TaskQuery) -> TaskPage:
        """A page from up to `limit + 1` sorted rows: the extra row only proves there is more."""
        items = tuple(rows[: query.limit])
        more = len(rows) > query.limit
        return cls(items, PageCursor.after(items[-1], query.sort) if more else None)
