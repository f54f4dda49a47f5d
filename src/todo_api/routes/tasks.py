"""Tasks of a user: `/api/v1/users/{user_id}/tasks[/{task_id}]`, where `user_id` may be `me`
(or the caller's own id, local or at the external issuer: see `deps.owner_of`).

Routes only translate: path, query and headers in, service call, JSON and headers out.
Ownership, versions and recurrence are the service's business.
"""

from __future__ import annotations

from typing import get_args, get_type_hints
from uuid import UUID

from fastapi import APIRouter, Request, Response, status

from todo_api.deps import ActorId, AuthenticatedAt, OwnerId, ServicesDep
from todo_api.responses import JSON, etag, expected_version, task_body
from todo_api.routes import API_PREFIX
from todo_api.routes.params import IfMatch, ListQuery, next_page, updated
from todo_api.schemas.problems import problem_responses
from todo_api.schemas.tasks import (
    TaskCreate,
    TaskList,
    TaskPatch,
    TaskPublic,
    TaskUpdated,
)
from todo_core import (
    TaskChanges,
    ValidationError,
)

router = APIRouter(prefix="/users/{user_id}/tasks", tags=["tasks"])
_TASK_URL = f"{API_PREFIX}{router.prefix}/{{task_id}}"

_MUTATION_PROBLEMS = problem_responses(401, 403, 404, 412, 413, 422)


def task_url(owner_id: UUID, task_id: UUID) -> str:
    return _TASK_URL.format(user_id=owner_id, task_id=task_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses=problem_responses(401, 403, 413, 422),
)
async def create_task(
    owner: OwnerId,
    body: TaskCreate,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
) -> JSON:
    task = await services.tasks.create(
        actor_id=actor,
        authenticated_at=issued,
        owner_id=owner,
        **dict(body),  # TaskCreate's members are the service's task fields, by name
    )
    headers = {"Location": task_url(owner, task.id), "ETag": etag(task)}
    return JSON(task_body(task), status_code=201, headers=headers)


@router.get("", response_model=TaskList, responses=problem_responses(401, 403, 422))
async def list_tasks(
    request: Request,
    owner: OwnerId,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    query: ListQuery,
) -> JSON:
    page = await services.tasks.list(
        actor_id=actor, authenticated_at=issued, owner_id=owner, query=query
    )
    next_cursor, headers = next_page(request, page)
    body = {"items": [task_body(task) for task in page.items], "next_cursor": next_cursor}
    return JSON(body, headers=headers)


@router.get(
    "/{task_id}", response_model=TaskPublic, responses=problem_responses(401, 403, 404, 422)
)
async def get_task(
    owner: OwnerId, task_id: UUID, actor: ActorId, issued: AuthenticatedAt, services: ServicesDep
) -> JSON:
    task = await services.tasks.get(
        actor_id=actor, authenticated_at=issued, owner_id=owner, task_id=task_id
    )
    return JSON(task_body(task), headers={"ETag": etag(task)})


@router.patch("/{task_id}", response_model=TaskUpdated, responses=_MUTATION_PROBLEMS)
async def update_task(
    owner: OwnerId,
    task_id: UUID,
    body: TaskPatch,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> JSON:
    result = await services.tasks.update(
        actor_id=actor,
        authenticated_at=issued,
        owner_id=owner,
        task_id=task_id,
        changes=_changes(body),
        expected_version=expected_version(if_match),
    )
    following = result.next_occurrence
    return updated(result, task_url(owner, following.id) if following else "")


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_MUTATION_PROBLEMS)
async def delete_task(
    owner: OwnerId,
    task_id: UUID,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> Response:
    await services.tasks.delete(
        actor_id=actor,
        authenticated_at=issued,
        owner_id=owner,
        task_id=task_id,
        expected_version=expected_version(if_match),
    )
    return Response(status_code=204)


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
