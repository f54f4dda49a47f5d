"""The change feed of a user: `/api/v1/users/{user_id}/changes`, where `user_id` may be `me`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from todo_api.deps import CallerDep
from todo_api.responses import JSON
from todo_api.schemas.changes import ChangeFeed, feed_body
from todo_api.schemas.problems import problem_responses
from todo_core import MAX_FEED_CURSOR_LENGTH, MAX_FEED_LIMIT

router = APIRouter(prefix="/users/{user_id}", tags=["sync"])


@router.get("/changes", response_model=ChangeFeed, responses=problem_responses(401, 403, 410, 422))
async def list_changes(
    caller: CallerDep,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_FEED_CURSOR_LENGTH,
            description="`next_cursor` of the previous answer; omit it to start from the "
            "beginning (every current task as an upsert)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_FEED_LIMIT)] = 100,
) -> JSON:
    """Changes to your tasks since `cursor`, oldest first: `upsert` with the task as it is now,
    or `delete` with the id of a deleted task. Follow `next_cursor` while `has_more`, then poll
    with the last one: every change shows up once (a task changed several times between two
    polls once, in its latest state), none is ever skipped. A cursor older than the tombstone
    retention (30 days by default) is 410: start again without one."""
    page = await caller.services.sync.changes(**caller.acting, cursor=cursor, limit=limit)
    return JSON(feed_body(page))
