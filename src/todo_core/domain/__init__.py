"""The pure domain: entities, value objects and the rules for them. No I/O happens here."""

from todo_core.domain.pagination import MAX_CURSOR_LENGTH, PageCursor
from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.recurrence import next_occurrence, parse_recurrence
from todo_core.domain.sorting import DEFAULT_SORT, SortField, SortKey, TaskSort
from todo_core.domain.tasks import (
    UNSET,
    Applied,
    Priority,
    Task,
    TaskChanges,
    check_due_date,
    normalize_description,
    normalize_tags,
    normalize_title,
)
from todo_core.domain.users import (
    User,
    check_password,
    normalize_email,
    normalize_name,
    normalize_username,
)

# The earlier names of the entity's factory and follow-up rule, kept for code built on them.
new_task = Task.create
follow_up = Task.follow_up

__all__ = [
    "DEFAULT_SORT",
    "MAX_CURSOR_LENGTH",
    "UNSET",
    "Applied",
    "PageCursor",
    "Priority",
    "SortField",
    "SortKey",
    "Task",
    "TaskChanges",
    "TaskPage",
    "TaskQuery",
    "TaskSort",
    "User",
    "check_due_date",
    "check_password",
    "follow_up",
    "new_task",
    "next_occurrence",
    "normalize_description",
    "normalize_email",
    "normalize_name",
    "normalize_tags",
    "normalize_title",
    "normalize_username",
    "parse_recurrence",
]
