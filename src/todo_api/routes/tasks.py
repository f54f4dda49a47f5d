"""Tasks of a user: `/api/v1/users/{user_id}/tasks[/{task_id}]`, where `user_id` may be `me`
(or the caller's own id, local or at the external issuer: see `deps.owner_of`).

Routes only translate: path, query and headers in, service call, JSON and headers out.
Ownership, versions and recurrence are the service's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import get_args, get_type_hints
from uuid import UUID

from fastapi import APIRouter, HTTPException, Request, Response, status

from todo_api.deps import CallerDep
from todo_api.idempotency import IdempotencyKey, keyed, outcome, respond
from todo_api.responses import JSON, etag, expected_version, task_bodies, task_body
from todo_api.routes import API_PREFIX
from todo_api.routes.params import IfMatch, ListQuery, next_page, updated
from todo_api.schemas.batch import BatchRequest, BatchResponse, operation_of, result_body
from todo_api.schemas.problems import problem_responses
from todo_api.schemas.tasks import (
    TaskCreate,
    TaskList,
    TaskPatch,
    TaskPublic,
    TaskUpdated,
)
from todo_core import (
    BatchResult,
    Outcome,
    Task,
    TaskChanges,
    ValidationError,
)

router = APIRouter(prefix="/users/{user_id}/tasks", tags=["tasks"])
_TASK_URL = f"{API_PREFIX}{router.prefix}/{{task_id}}"

_MUTATION_PROBLEMS = problem_responses(401, 403, 404, 409, 412, 413, 422)


def task_url(owner_id: UUID, task_id: UUID) -> str:
    return _TASK_URL.format(user_id=owner_id, task_id=task_id)


@router.api_route("/batch", methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False)
async def batch_other_methods() -> None:
    """`/tasks/batch` takes POST only: without this, `/tasks/{task_id}` would claim the other
    methods and answer 422 ("batch" is no task id) instead of 405."""
    raise HTTPException(status_code=405, headers={"Allow": "POST"})


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses=problem_responses(401, 403, 409, 413, 422),
)
async def create_task(
    caller: CallerDep,
    request: Request,
    body: TaskCreate,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Rules beyond single fields (422 when broken): a `recurrence` needs a `due_date`, and a
    `due_date` may not lie in the past."""

    owner = caller.owner_id

    def render(task: Task) -> Outcome:
        headers = {"Location": task_url(owner, task.id), "ETag": etag(task)}
        return outcome(201, task_body(task), headers)

    task = await caller.services.tasks.create(
        **caller.acting,
        idempotency=keyed(idempotency_key, request, owner=owner, render=render, body=body),
        **dict(body),  # TaskCreate's members are the service's task fields, by name
    )
    return respond(render(task))


@router.get("", response_model=TaskList, responses=problem_responses(401, 403, 422))
async def list_tasks(caller: CallerDep, request: Request, query: ListQuery) -> JSON:
    page = await caller.services.tasks.list(**caller.acting, query=query)
    next_cursor, headers = next_page(request, page)
    body = {"items": task_bodies(page.items), "next_cursor": next_cursor}
    return JSON(body, headers=headers)


@router.get(
    "/{task_id}", response_model=TaskPublic, responses=problem_responses(401, 403, 404, 422)
)
async def get_task(caller: CallerDep, task_id: UUID) -> JSON:
    task = await caller.services.tasks.get(**caller.acting, task_id=task_id)
    return JSON(task_body(task), headers={"ETag": etag(task)})


@router.patch("/{task_id}", response_model=TaskUpdated, responses=_MUTATION_PROBLEMS)
async def update_task(
    caller: CallerDep,
    request: Request,
    task_id: UUID,
    body: TaskPatch,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Only the fields sent change. Rules beyond single fields (422 when broken): a task with a
    `recurrence` needs a `due_date` (the one sent or the one it has), and a new `due_date` may
    not lie in the past. With `If-Match`, a stale ETag is 412."""

    owner = caller.owner_id
    render = partial(updated, url_of=partial(task_url, owner))
    result = await caller.services.tasks.update(
        **caller.acting,
        task_id=task_id,
        changes=_changes(body),
        expected_version=expected_version(if_match),
        idempotency=keyed(
            idempotency_key, request, owner=owner, render=render, body=body, if_match=if_match
        ),
    )
    return respond(render(result))


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_MUTATION_PROBLEMS)
async def delete_task(
    caller: CallerDep,
    request: Request,
    task_id: UUID,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    def render(_: None) -> Outcome:
        return outcome(204)

    await caller.services.tasks.delete(
        **caller.acting,
        task_id=task_id,
        expected_version=expected_version(if_match),
        idempotency=keyed(
            idempotency_key, request, owner=caller.owner_id, render=render, if_match=if_match
        ),
    )
    return respond(render(None))


@router.post(
    "/batch",
    response_model=BatchResponse,
    responses=problem_responses(401, 403, 404, 409, 412, 413, 422),
    summary="Apply up to 100 task operations atomically",
)
async def batch_tasks(
    caller: CallerDep,
    request: Request,
    body: BatchRequest,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """All operations apply in order in one transaction, or none does. A `create` may name
    its task with a `ref`; later operations target it with the same `ref` (or an existing
    task with `id`). Any operation but `create` may carry `expected_version`. On failure, one
    problem names the 0-based `index` and `op` of the operation that failed, and why."""

    def render(results: Sequence[BatchResult]) -> Outcome:
        body = {"results": [result_body(i, r) for i, r in enumerate(results)]}
        return outcome(200, body)

    results = await caller.services.tasks.batch(
        **caller.acting,
        operations=[operation_of(item, _changes) for item in body.operations],
        idempotency=keyed(
            idempotency_key, request, owner=caller.owner_id, render=render, body=body
        ),
    )
    return respond(render(results))


def _changes(body: TaskPatch) -> TaskChanges:
    sent = body.model_fields_set
    for required in _NOT_NULL:
        if required in sent and getattr(body, required) is None:
            raise ValidationError.of(required, "may not be null")
    return TaskChanges(**{name: getattr(body, name) for name in sent})


# TaskPatch's fields are TaskChanges' (a test checks); those it declares never None may not be
# sent as null.
_NOT_NULL = tuple(
    name for name, hint in get_type_hints(TaskChanges).items() if type(None) not in get_args(hint)
)
