"""Operation ids are short, stable and unique (`tasks-create`), so generated clients (e.g.
@hey-api/openapi-ts) get `tasksCreate` rather than `createTaskApiV1UsersUserIdTasksPost`."""

from __future__ import annotations

import re
from typing import Any

import httpx

PINNED = {
    ("post", "/api/v1/auth/signup"): "accounts-sign-up",
    ("post", "/api/v1/auth/login"): "accounts-log-in",
    ("get", "/api/v1/users/me"): "accounts-me",
    ("get", "/api/v1/health"): "health-get",
    ("get", "/health"): "health-get-unversioned",
    ("post", "/api/v1/users/{user_id}/tasks"): "tasks-create",
    ("get", "/api/v1/users/{user_id}/tasks"): "tasks-list",
    ("get", "/api/v1/users/{user_id}/tasks/{task_id}"): "tasks-get",
    ("patch", "/api/v1/users/{user_id}/tasks/{task_id}"): "tasks-update",
    ("delete", "/api/v1/users/{user_id}/tasks/{task_id}"): "tasks-delete",
}
SHAPE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)+")


async def _operations(client: httpx.AsyncClient) -> dict[tuple[str, str], str]:
    spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    return {
        (method, path): operation["operationId"]
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    }


async def test_operation_ids_are_pinned(client: httpx.AsyncClient) -> None:
    operations = await _operations(client)
    assert {key: operations.get(key) for key in PINNED} == PINNED


async def test_every_operation_id_is_short_and_unique(client: httpx.AsyncClient) -> None:
    """Routes added later get their ids from the same function: this catches a clash."""
    ids = list((await _operations(client)).values())
    assert len(ids) == len(set(ids)), sorted(ids)
    for operation_id in ids:
        assert SHAPE.fullmatch(operation_id), operation_id
        assert len(operation_id) <= 40, operation_id


async def test_405_lists_every_method_the_path_supports(
    client: httpx.AsyncClient,
) -> None:
    collection = await client.request("OPTIONS", "/api/v1/users/me/tasks")
    assert collection.status_code == 405
    assert collection.headers["allow"] == "GET, POST"
    item = await client.put("/api/v1/users/me/tasks/00000000-0000-4000-8000-000000000000")
    assert item.status_code == 405
    assert item.headers["allow"] == "GET, PATCH, DELETE"
    assert item.json()["status"] == 405
