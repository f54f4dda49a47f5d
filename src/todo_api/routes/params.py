"""What both task routers read from a request the same way: the list's query parameters,
`If-Match`, and the `Link` to the next page. One definition, so `/api/v1` and the
compatibility surface cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Request

from todo_api.idempotency import outcome
from todo_api.responses import etag, task_body
from todo_api.schemas.tasks import Moment, PriorityIn, trimmed
from todo_core import (
    MAX_CURSOR_LENGTH,
    Outcome,
    PageCursor,
    TaskPage,
    TaskQuery,
    TaskSort,
    TaskUpdate,
)
from todo_core.domain.tasks import TAG_MAX

IfMatch = Annotated[str | None, Header(description="An ETag from this API; stale: 412")]


async def task_query(  # async: FastAPI runs a plain `def` in a thread
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    completed: bool | None = None,
    priority: PriorityIn | None = None,
    tag: Annotated[
        list[str],
        Query(
            max_length=20,
            description="All must match",
            json_schema_extra={"items": {"type": "string", "pattern": trimmed(1, TAG_MAX)}},
        ),
    ] = [],  # noqa: B006
    due_before: Moment | None = None,
    due_after: Moment | None = None,
    overdue: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Search title and description")
    ] = None,
    sort: Annotated[
        str,
        Query(
            max_length=20,
            description="created_at, updated_at, due_date, priority or title; '-' for descending",
            json_schema_extra={"pattern": "^-?(created_at|updated_at|due_date|priority|title)$"},
        ),
    ] = "-created_at",
) -> TaskQuery:
    order = TaskSort.parse(sort)
    return TaskQuery(
        limit=limit,
        cursor=PageCursor.decode(cursor, order) if cursor else None,
        completed=completed,
        priority=priority,
        tags=tuple(tag),
        due_before=due_before,
        due_after=due_after,
        overdue=overdue,
        text=q,
        sort=order,
    )


ListQuery = Annotated[TaskQuery, Depends(task_query)]


def next_page(request: Request, page: TaskPage) -> tuple[str | None, dict[str, str]]:
    """The next page's cursor and the `Link` header that points at it."""
    if page.next_cursor is None:
        return None, {}
    cursor = page.next_cursor.encode()
    return cursor, {"Link": f'<{request.url.include_query_params(cursor=cursor)}>; rel="next"'}


def updated(result: TaskUpdate, url_of: Callable[[UUID], str]) -> Outcome:
    """A changed task with its ETag; completing a recurring task adds the next occurrence,
    in the body and as `Link: <its url_of(id)>; rel="next-occurrence"`. An `Outcome`, so that
    the answer and the copy kept under an `Idempotency-Key` are made by this one function."""
    payload = task_body(result.task)
    payload["next_occurrence"] = None
    headers = {"ETag": etag(result.task)}
    if result.next_occurrence is not None:
        payload["next_occurrence"] = task_body(result.next_occurrence)
        headers["Link"] = f'<{url_of(result.next_occurrence.id)}>; rel="next-occurrence"'
    return outcome(200, payload, headers)
