"""What the tools answer: structured results an agent can read, and problems as tool errors.

A task is shown as an agent thinks of it (`status` pending/completed, `version` to send back as
`expected_version`); an error carries the same `title`, `detail` and field `errors` as the HTTP
API's problem document, never a traceback or driver text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import pydantic
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from todo_api.problems import problem_fields, validation_fields
from todo_core import Task, TaskUpdate, TodoError

Status = Literal["pending", "completed"]


class TaskResult(BaseModel):
    task_id: UUID
    title: str
    status: Status
    version: int = Field(description="Send as `expected_version` to make a change safe")
    description: str | None
    priority: Literal["low", "medium", "high"]
    due_date: datetime | None
    tags: list[str]
    recurrence: str | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, task: Task) -> TaskResult:
        return cls(
            task_id=task.id,
            title=task.title,
            status="completed" if task.completed else "pending",
            version=task.version,
            description=task.description,
            priority=task.priority.value,
            due_date=task.due_date,
            tags=list(task.tags),
            recurrence=task.recurrence,
            completed_at=task.completed_at,
            created_at=task.created_at,
            updated_at=task.updated_at,
        )


class ChangedTask(TaskResult):
    next_occurrence: TaskResult | None = Field(
        default=None, description="The next task of a recurring series, created on completion"
    )

    @classmethod
    def of_update(cls, update: TaskUpdate) -> ChangedTask:
        following = update.next_occurrence
        return cls(
            **TaskResult.of(update.task).model_dump(),
            next_occurrence=TaskResult.of(following) if following else None,
        )


class DeletedTask(BaseModel):
    task_id: UUID
    title: str
    status: Status
    version: int
    deleted: bool = True

    @classmethod
    def of(cls, task: Task) -> DeletedTask:
        shown = TaskResult.of(task)
        return cls(
            task_id=shown.task_id, title=shown.title, status=shown.status, version=shown.version
        )


class TaskListResult(BaseModel):
    tasks: list[TaskResult]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: done")


def problem_result(problem: dict[str, Any]) -> CallToolResult:
    text = f"{problem['title']}: {problem['detail']}"
    for error in problem.get("errors", ()):
        text += f"\n- {error['field']}: {error['message']}"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=problem, is_error=True
    )


def error_result(error: BaseException) -> CallToolResult | None:
    """The problem for an error the HTTP API would also answer with one; None for the rest."""
    if isinstance(error, TodoError):
        return problem_result(problem_fields(error))
    if isinstance(error, pydantic.ValidationError):
        return problem_result(validation_fields(error.errors(include_input=False)))
    return None
