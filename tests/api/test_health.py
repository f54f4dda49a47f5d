from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
async def test_health_is_healthy_on_a_migrated_database(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "database": "connected",
        "migration": "up-to-date",
    }


async def test_docs_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/users/{user_id}/tasks" in spec["paths"]
