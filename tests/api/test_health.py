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
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in docs.text  # served here, not from a CDN
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert len(bundle.content) > 100_000
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/users/{user_id}/tasks" in spec["paths"]
