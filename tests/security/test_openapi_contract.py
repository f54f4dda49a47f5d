"""The OpenAPI document tells the truth about errors: every error status of every route is
documented as `application/problem+json` with the Problem schema (what schemathesis checks
every fuzzed answer against), and the statuses that each kind of route can answer are there."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
HEALTH = {"/health", "/api/v1/health"}


async def _spec(client: httpx.AsyncClient) -> dict[str, Any]:
    spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    return spec


async def test_every_error_answer_is_documented_as_problem_json(
    client: httpx.AsyncClient,
) -> None:
    spec = await _spec(client)
    assert {"type", "title", "status", "detail"} <= set(
        spec["components"]["schemas"]["Problem"]["properties"]
    )
    checked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400 or path in HEALTH:
                    continue
                assert response["content"] == {"application/problem+json": PROBLEM}, (
                    method,
                    path,
                    status,
                )
                checked += 1
    assert checked >= 30


async def test_each_route_documents_the_statuses_it_can_answer(
    client: httpx.AsyncClient,
) -> None:
    paths = (await _spec(client))["paths"]
    tasks, task = "/api/v1/users/{user_id}/tasks", "/api/v1/users/{user_id}/tasks/{task_id}"
    expected = {
        ("post", "/api/v1/auth/signup"): {"201", "409", "413", "422", "503"},
        ("post", "/api/v1/auth/login"): {"200", "401", "413", "422", "429", "503"},
        ("get", "/api/v1/users/me"): {"200", "401", "503"},
        ("post", tasks): {"201", "401", "403", "413", "422", "503"},
        ("get", tasks): {"200", "401", "403", "422", "503"},
        ("get", task): {"200", "401", "403", "404", "422", "503"},
        ("patch", task): {"200", "401", "403", "404", "412", "413", "422", "503"},
        ("delete", task): {"204", "401", "403", "404", "412", "422", "503"},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
