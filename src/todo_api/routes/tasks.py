"""Tasks of a user: `/api/v1/users/{user_id}/tasks[/{task_id}]`, where `user_id` may be `me`.

Routes only translate: path, query and headers in, service call, JSON and headers out.
Ownership, versions and recurrence are the service's business.
"""

from __future__ import annotations

from typing import Annotated, get_args, get_type_hints
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import AwareDatetime, BeforeValidator

from todo_api.deps import ActorId, AuthenticatedAt, ServicesDep
from todo_api.responses import JSON, etag, expected_version, task_body
from todo_api.routes import API_PREFIX
from todo_api.schemas.problems import problem_responses
from todo_api.schemas.tasks import (
    PriorityIn,
    TaskCreate,
    TaskList,
    TaskPatch,
    TaskPublic,
    TaskUpdated,
)
from todo_core import (
    MAX_CURSOR_LENGTH,
    PageCursor,
    TaskChanges,
    TaskQuery,
    TaskSort,
    ValidationError,
)

router = APIRouter(prefix="/users/{user_id}/tasks", tags=["tasks"])
_TASK_URL = f"{API_PREFIX}{router.prefix}/{{task_id}}"

UserRef = Annotated[
    str,
    Path(
        pattern=r"^(me|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
        description="`me` or your own user id",
        examples=["me"],
    ),
]
IfMatch = Annotated[str | None, Header(description="An ETag from this API; stale: 412")]


def _not_a_number(value: object) -> object:
    # pydantic reads "0.5" as a Unix timestamp; the API documents ISO 8601 date-times only.
    try:
        float(str(value))
    except ValueError:
        return value
    raise ValueError("must be an ISO 8601 date and time with an offset")


Moment = Annotated[AwareDatetime, BeforeValidator(_not_a_number)]
_MUTATION_PROBLEMS = problem_responses(401, 403, 404, 412, 413, 422)


def owner_of(user_ref: str, actor: UUID) -> UUID:
    return actor if user_ref == "me" else UUID(user_ref)


def task_url(owner_id: UUID, task_id: UUID) -> str:
    return _TASK_URL.format(user_id=owner_id, task_id=task_id)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    responses=problem_responses(401, 403, 413, 422),
)
async def create_task(
    user_id: UserRef,
    body: TaskCreate,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
) -> JSON:
    owner = owner_of(user_id, actor)
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
    user_id: UserRef,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    completed: bool | None = None,
    priority: PriorityIn | None = None,
    tag: Annotated[list[str], Query(max_length=20, description="All must match")] = [],  # noqa: B006
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
        ),
    ] = "-created_at",
) -> JSON:
    order = TaskSort.parse(sort)
    query = TaskQuery(
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
    page = await services.tasks.list(
        actor_id=actor, authenticated_at=issued, owner_id=owner_of(user_id, actor), query=query
    )
    next_cursor = page.next_cursor.encode() if page.next_cursor else None
    headers = {}
    if next_cursor:
        headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor)}>; rel="next"'
    body = {"items": [task_body(task) for task in page.items], "next_cursor": next_cursor}
    return JSON(body, headers=headers)


@router.get(
    "/{task_id}", response_model=TaskPublic, responses=problem_responses(401, 403, 404, 422)
)
async def get_task(
    user_id: UserRef, task_id: UUID, actor: ActorId, issued: AuthenticatedAt, services: ServicesDep
) -> JSON:
    task = await services.tasks.get(
        actor_id=actor, authenticated_at=issued, owner_id=owner_of(user_id, actor), task_id=task_id
    )
    return JSON(task_body(task), headers={"ETag": etag(task)})


@router.patch("/{task_id}", response_model=TaskUpdated, responses=_MUTATION_PROBLEMS)
async def update_task(
    user_id: UserRef,
    task_id: UUID,
    body: TaskPatch,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> JSON:
    owner = owner_of(user_id, actor)
    result = await services.tasks.update(
        actor_id=actor,
        authenticated_at=issued,
        owner_id=owner,
        task_id=task_id,
        changes=_changes(body),
        expected_version=expected_version(if_match),
    )
    payload = task_body(result.task)
    payload["next_occurrence"] = None
    headers = {"ETag": etag(result.task)}
    if result.next_occurrence is not None:
        payload["next_occurrence"] = task_body(result.next_occurrence)
        url = task_url(owner, result.next_occurrence.id)
        headers["Link"] = f'<{url}>; rel="next-occurrence"'
    return JSON(payload, headers=headers)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_MUTATION_PROBLEMS)
async def delete_task(
    user_id: UserRef,
    task_id: UUID,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> Response:
    await services.tasks.delete(
        actor_id=actor,
        authenticated_at=issued,
        owner_id=owner_of(user_id, actor),
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
