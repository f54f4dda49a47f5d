"""The MCP server: the task tools, over the same `TaskService` the HTTP API calls.

Each tool is a thin translation, like a route: arguments in, one service call, a structured
result out. Who acts comes from `actor`, which the transport supplies (the bearer token of the
HTTP request, or the token `todo mcp` was started with), so ownership, isolation, versions and
recurrence are the service's rules here exactly as over HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import AwareDatetime, Field

from todo_api.container import Services
from todo_api.mcp.keys import keyed, replayed
from todo_api.mcp.results import (
    ChangedTask,
    DeletedTask,
    TaskListResult,
    TaskResult,
    error_result,
)
from todo_api.tokens import Claims
from todo_core import (
    UNSET,
    NotFound,
    PageCursor,
    Priority,
    Replayed,
    TaskChanges,
    TaskQuery,
    TaskSort,
)

Actor = Callable[[], Awaitable[Claims]]


def _acting(claims: Claims) -> dict[str, Any]:
    """Who acts, on whose tasks, with a token issued when (the service refuses a token issued
    before a password change, a reset or a deletion): always the token's own user."""
    return {
        "actor_id": claims.subject,
        "owner_id": claims.subject,
        "authenticated_at": claims.issued_at,
    }


INSTRUCTIONS = """\
Manage the signed-in user's todo list. Tasks have a title, optional description, priority
(low/medium/high), tags, a due date (ISO 8601) and an optional recurrence (daily, weekly,
monthly, yearly or an RRULE such as FREQ=WEEKLY;BYDAY=MO). Find tasks with list_tasks (filters,
`q` for text, `overdue` for late ones), then act on one by its `task_id`. Pass the `version` you
last saw as `expected_version` to avoid overwriting someone else's change, and an
`idempotency_key` of your own on writes so that retrying a call never does it twice.
Completing a recurring task creates its next occurrence (returned as `next_occurrence`)."""

TaskId = Annotated[UUID, Field(description="The task's id (`task_id` from an earlier result)")]
ExpectedVersion = Annotated[
    int | None,
    Field(description="The task's `version` you last saw; if it changed since, nothing is done"),
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Your own unique key for this write (1-255 visible ASCII characters); "
        "a retry with the same key returns the first result instead of acting twice",
    ),
]
Title = Annotated[str, Field(min_length=1, max_length=255, description="1 to 255 characters")]
Description = Annotated[str | None, Field(max_length=10_000, description="Longer notes")]
PriorityName = Literal["low", "medium", "high"]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=10)]] | None,
    Field(max_length=20, description="Up to 20 tags, 1-10 characters each, e.g. ['home']"),
]
DueDate = Annotated[
    AwareDatetime | date | None,
    Field(
        description="ISO 8601: a date-time with offset (2026-12-01T09:00:00+01:00) or a date "
        "(2026-12-01, meaning its start in UTC); must not be in the past"
    ),
]
Recurrence = Annotated[
    str | None,
    Field(
        max_length=255,
        description="daily, weekly, monthly, yearly or an RRULE (FREQ=WEEKLY;BYDAY=MO,WE); "
        "needs a due date",
    ),
]
Moment = Annotated[AwareDatetime | date | None, Field(description="ISO 8601 date or date-time")]
SortName = Literal[
    "created_at", "-created_at", "updated_at", "-updated_at", "due_date", "-due_date",
    "priority", "-priority", "title", "-title",
]  # fmt: skip

_WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False)
_READ = ToolAnnotations(readOnlyHint=True)


def _moment(value: datetime | date | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tzinfo=UTC)


class TodoMCPServer(MCPServer):
    """Reports the core's errors (and bad arguments) as tool errors shaped like the HTTP
    API's problems, instead of the SDK's generic "Error executing tool" text."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as error:  # UnexpectedToolError too: its cause may be a core error
            if isinstance(error.__cause__, Replayed):
                return replayed(error.__cause__.outcome)
            result = error_result(error.__cause__) if error.__cause__ is not None else None
            if result is None:
                raise
            return result


@contextmanager
def _logging_left_alone() -> Iterator[None]:
    """The SDK's server configures the process's root logger when it is built (a rich console
    handler, unless one exists): logging is the application's (`todo_api.logs`), and rich
    tracebacks cost a request ~100x more during an outage."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def build_mcp_server(
    services: Services,
    *,
    actor: Actor,
    version: str,
    auth: AuthSettings | None = None,
    token_verifier: TokenVerifier | None = None,
) -> MCPServer:
    """The server with its tools; `actor()` names the user each call acts for (and raises
    AuthenticationFailed when that is no longer anyone). `auth` and `token_verifier` guard the
    HTTP transport; stdio has neither (its user is fixed at start)."""
    with _logging_left_alone():
        server = TodoMCPServer(
            "todo",
            version=version,
            instructions=INSTRUCTIONS,
            auth=auth,
            token_verifier=token_verifier,
        )
    tasks = services.tasks

    @server.tool(annotations=_WRITE)
    async def add_task(
        title: Title,
        description: Description = None,
        priority: PriorityName | None = None,
        tags: Tags = None,
        due_date: DueDate = None,
        recurrence: Recurrence = None,
        idempotency_key: IdempotencyKey = None,
    ) -> TaskResult:
        """Add a task to the user's list."""
        me = _acting(await actor())
        fields = {
            "title": title,
            "description": description,
            "priority": priority,
            "tags": tags,
            "due_date": due_date,
            "recurrence": recurrence,
        }
        task = await tasks.create(
            **me,
            idempotency=keyed(idempotency_key, "add_task", fields, TaskResult.of),
            title=title,
            description=description,
            priority=priority,
            due_date=_moment(due_date),
            tags=tags or (),
            recurrence=recurrence,
        )
        return TaskResult.of(task)

    @server.tool(annotations=_READ)
    async def list_tasks(
        status: Literal["all", "pending", "completed"] = "all",
        priority: PriorityName | None = None,
        tag: Annotated[str | None, Field(description="Only tasks with this tag")] = None,
        due_before: Moment = None,
        due_after: Moment = None,
        overdue: Annotated[
            bool | None, Field(description="true: pending tasks whose due date has passed")
        ] = None,
        q: Annotated[
            str | None, Field(max_length=200, description="Text to find in title or description")
        ] = None,
        sort: Annotated[SortName, Field(description="'-' for descending")] = "-created_at",
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
        cursor: Annotated[
            str | None, Field(description="`next_cursor` of the previous page")
        ] = None,
    ) -> TaskListResult:
        """List the user's tasks, newest first unless `sort` says otherwise, a page at a time."""
        me = _acting(await actor())
        order = TaskSort.parse(sort)
        query = TaskQuery(
            limit=limit,
            cursor=PageCursor.decode(cursor, order) if cursor else None,
            completed=None if status == "all" else status == "completed",
            priority=Priority(priority) if priority else None,
            tags=(tag,) if tag else (),
            due_before=_moment(due_before),
            due_after=_moment(due_after),
            overdue=overdue,
            text=q,
            sort=order,
        )
        page = await tasks.list(**me, query=query)
        return TaskListResult(
            tasks=[TaskResult.of(task) for task in page.items],
            next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        )

    @server.tool(annotations=_READ)
    async def get_task(task_id: TaskId) -> TaskResult:
        """One task with all its fields."""
        me = _acting(await actor())
        return TaskResult.of(await tasks.get(**me, task_id=task_id))

    @server.tool(annotations=_WRITE)
    async def update_task(
        task_id: TaskId,
        title: Annotated[Title | None, Field(description="New title")] = None,
        description: Annotated[str | None, Field(max_length=10_000)] = None,
        priority: PriorityName | None = None,
        tags: Tags = None,
        due_date: DueDate = None,
        recurrence: Recurrence = None,
        clear: Annotated[
            list[Literal["description", "due_date", "recurrence"]] | None,
            Field(description="Optional fields to empty, e.g. ['due_date']"),
        ] = None,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangedTask:
        """Change some fields of a task; fields you leave out stay as they are."""
        me = _acting(await actor())
        given = {
            "title": title,
            "description": description,
            "priority": priority,
            "tags": tags,
            "due_date": _moment(due_date),
            "recurrence": recurrence,
        }
        values: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
        values.update(dict.fromkeys(clear or (), None))
        changes = TaskChanges(**{name: values.get(name, UNSET) for name in given})
        arguments = {**given, "task_id": task_id, "clear": clear, "version": expected_version}
        update = await tasks.update(
            **me,
            task_id=task_id,
            changes=changes,
            expected_version=expected_version,
            idempotency=keyed(idempotency_key, "update_task", arguments, ChangedTask.of_update),
        )
        return ChangedTask.of_update(update)

    async def mark(
        tool: str, *, done: bool, task_id: UUID, version: int | None, key: str | None
    ) -> ChangedTask:
        me = _acting(await actor())
        update = await (tasks.complete if done else tasks.reopen)(
            **me,
            task_id=task_id,
            expected_version=version,
            idempotency=keyed(
                key, tool, {"task_id": task_id, "version": version}, ChangedTask.of_update
            ),
        )
        return ChangedTask.of_update(update)

    @server.tool(annotations=_WRITE)
    async def complete_task(
        task_id: TaskId,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangedTask:
        """Mark a task done (doing it again changes nothing). A recurring task's next
        occurrence is created and returned as `next_occurrence`."""
        return await mark(
            "complete_task",
            done=True,
            task_id=task_id,
            version=expected_version,
            key=idempotency_key,
        )

    @server.tool(annotations=_WRITE)
    async def reopen_task(
        task_id: TaskId,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> ChangedTask:
        """Mark a completed task as pending again."""
        return await mark(
            "reopen_task",
            done=False,
            task_id=task_id,
            version=expected_version,
            key=idempotency_key,
        )

    @server.tool(annotations=ToolAnnotations(destructiveHint=True, idempotentHint=True))
    async def delete_task(
        task_id: TaskId,
        expected_version: ExpectedVersion = None,
        idempotency_key: IdempotencyKey = None,
    ) -> DeletedTask:
        """Delete a task for good."""
        me = _acting(await actor())
        try:
            shown: DeletedTask | None = DeletedTask.of(await tasks.get(**me, task_id=task_id))
        except NotFound:
            if idempotency_key is None:
                raise
            shown = None  # gone already: perhaps by this very call, whose answer is kept
        arguments = {"task_id": task_id, "version": expected_version}

        def answer(_: None) -> DeletedTask:
            # Kept before the delete's verdict arrives (writes go out together at commit): if
            # the task was gone, the commit refuses (or replays) and this copy is never kept.
            return shown or DeletedTask(task_id=task_id, title="", status="pending", version=0)

        await tasks.delete(
            **me,
            task_id=task_id,
            expected_version=expected_version,
            idempotency=keyed(idempotency_key, "delete_task", arguments, answer),
        )
        return answer(None)

    return server


__all__ = ["Actor", "build_mcp_server"]
