"""The compatibility surface: the route shape front ends built on Better Auth / Neon Auth
already call, `/api/{user_id}/tasks[/{id}]`, with `{user_id}` the id from their token (or
`me`, or the local id).

A second thin router over the same services as `/api/v1` (the main API): same auth,
ownership, validation, problem details and ETags. What differs is only the shape: the list
is a bare JSON array (the next page is in the `Link` header), PUT replaces every editable
field, and `PATCH .../complete` toggles, as those apps expect; send `If-Match` to make a
retried toggle safe (a stale ETag is 412 and changes nothing).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from todo_api.deps import CallerDep
from todo_api.idempotency import respond
from todo_api.responses import JSON, etag, expected_version, task_bodies, task_body
from todo_api.routes.params import IfMatch, ListQuery, next_page, updated
from todo_api.schemas.problems import problem_responses
from todo_api.schemas.tasks import (
    TaskCreate,
    TaskPublic,
    TaskReplace,
    TaskUpdated,
    editable_changes,
)

TAG = "compatibility"
router = APIRouter(prefix="/api/{user_id}/tasks", tags=[TAG])

_MUTATION_PROBLEMS = problem_responses(401, 403, 404, 412, 413, 422)


def task_url(owner_id: UUID, task_id: UUID) -> str:
    return f"/api/{owner_id}/tasks/{task_id}"


@router.get(
    "", response_model=list[TaskPublic],  # type: ignore[valid-type]
    responses=problem_responses(401, 403, 422),
)  # fmt: skip
async def compat_list_tasks(caller: CallerDep, request: Request, query: ListQuery) -> JSON:
    """The tasks as a JSON array, with the filters, sorts and `limit`/`cursor` of
    `/api/v1`; the next page, if any, is `Link: <...>; rel="next"`."""
    page = await caller.services.tasks.list(**caller.acting, query=query)
    _, headers = next_page(request, page)
    return JSON(task_bodies(page.items), headers=headers)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses=problem_responses(401, 403, 413, 422),
)
async def compat_create_task(caller: CallerDep, body: TaskCreate) -> JSON:
    task = await caller.services.tasks.create(
        **caller.acting,
        **dict(body),  # TaskCreate's members are the service's task fields, by name
    )
    headers = {"Location": task_url(caller.owner_id, task.id), "ETag": etag(task)}
    return JSON(task_body(task), status_code=201, headers=headers)


@router.get("/{id}", response_model=TaskPublic, responses=problem_responses(401, 403, 404, 422))
async def compat_get_task(caller: CallerDep, id: UUID) -> JSON:
    task = await caller.services.tasks.get(**caller.acting, task_id=id)
    return JSON(task_body(task), headers={"ETag": etag(task)})


@router.put("/{id}", response_model=TaskUpdated, responses=_MUTATION_PROBLEMS)
async def compat_replace_task(
    caller: CallerDep, id: UUID, body: TaskReplace, if_match: IfMatch = None
) -> Response:
    """Replace every editable field: one left out is cleared (or reset to its default).
    `completed` is the exception: left out, the task stays as it is."""
    changes = editable_changes(body)
    if body.completed is not None:
        changes = replace(changes, completed=body.completed)
    result = await caller.services.tasks.update(
        **caller.acting,
        task_id=id,
        changes=changes,
        expected_version=expected_version(if_match),
    )
    return respond(updated(result, partial(task_url, caller.owner_id)))


@router.delete("/{id}", status_code=status.HTTP_204_NO_CONTENT, responses=_MUTATION_PROBLEMS)
async def compat_delete_task(caller: CallerDep, id: UUID, if_match: IfMatch = None) -> Response:
    await caller.services.tasks.delete(
        **caller.acting, task_id=id, expected_version=expected_version(if_match)
    )
    return Response(status_code=204)


@router.patch("/{id}/complete", response_model=TaskUpdated, responses=_MUTATION_PROBLEMS)
async def compat_toggle_task(caller: CallerDep, id: UUID, if_match: IfMatch = None) -> Response:
    """Toggle: complete an open task, reopen a completed one. Completing a recurring task
    also creates its next occurrence (`next_occurrence`, `Link: rel="next-occurrence"`).
    With `If-Match`, a stale ETag is 412 and nothing changes."""
    result = await caller.services.tasks.toggle(
        **caller.acting, task_id=id, expected_version=expected_version(if_match)
    )
    return respond(updated(result, partial(task_url, caller.owner_id)))
