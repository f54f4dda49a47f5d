"""How task lists are ordered: a field, a direction, and the id as tie-breaker.

The order is `ORDER BY <field> <dir> NULLS LAST, id <dir>`: nulls (only due_date has them)
come last in both directions, and the id makes the order total so keyset pages never skip or
repeat a row. Priorities order low < medium < high, as the database enum does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from todo_core.domain.tasks import Priority, Task
from todo_core.errors import ValidationError

SortKey = datetime | str | Priority | None


class SortField(StrEnum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    DUE_DATE = "due_date"
    PRIORITY = "priority"
    TITLE = "title"


# Short names people type in a query string.
_ALIASES = {
    "created": SortField.CREATED_AT,
    "updated": SortField.UPDATED_AT,
    "due": SortField.DUE_DATE,
}


def _rank(key: SortKey) -> object:
    return key.rank if isinstance(key, Priority) else key


def _cmp(a: Any, b: Any) -> int:
    return 0 if a == b else 1 if a > b else -1


@dataclass(frozen=True)
class TaskSort:
    field: SortField = SortField.CREATED_AT
    descending: bool = True

    @classmethod
    def parse(cls, text: str) -> TaskSort:
        """Parse e.g. "-created_at" (newest first) or "title" / "+title" (A to Z)."""
        name = text.strip().lower() if isinstance(text, str) else ""
        descending = name.startswith("-")
        name = name[1:] if name[:1] in ("+", "-") else name
        try:
            return cls(_ALIASES.get(name) or SortField(name), descending)
        except ValueError:
            choices = ", ".join(f.value for f in SortField)
            raise ValidationError.of(
                "sort", f"must be one of {choices}, optionally prefixed with '-' for descending"
            ) from None

    def __str__(self) -> str:
        return ("-" if self.descending else "") + self.field.value

    def key_of(self, task: Task) -> SortKey:
        value: SortKey = getattr(task, self.field.value)
        return value

    def compare_tasks(self, a: Task, b: Task) -> int:
        """-1, 0 or 1 as task a sorts before, with or after task b."""
        return self.compare(self.key_of(a), a.id, self.key_of(b), b.id)

    def compare(self, a_key: SortKey, a_id: UUID, b_key: SortKey, b_id: UUID) -> int:
        """-1, 0 or 1 as row a sorts before, with or after row b."""
        if (a_key is None) != (b_key is None):
            return 1 if a_key is None else -1  # nulls last whatever the direction
        order = _cmp(_rank(a_key), _rank(b_key)) or _cmp(a_id, b_id)
        return -order if self.descending else order


DEFAULT_SORT = TaskSort(SortField.CREATED_AT, descending=True)
