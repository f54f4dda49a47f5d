"""A second user can neither see nor touch the first user's tasks, by any route."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import SignUp


@pytest.fixture
async def scene(client: httpx.AsyncClient, sign_up: SignUp) -> dict[str, object]:
    alice, bob = await sign_up("alice@example.com"), await sign_up("bob@example.com")
    alice_id = (await client.get("/api/v1/users/me", headers=alice)).json()["id"]
    created = await client.post(
        "/api/v1/users/me/tasks", json={"title": "Alice's secret"}, headers=alice
    )
    return {"alice": alice, "bob": bob, "alice_id": alice_id, "task": created.json()}


def routes(owner: str, task_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    base = f"/api/v1/users/{owner}/tasks"
    return [
        ("GET", base, None),
        ("POST", base, {"title": "planted"}),
        ("GET", f"{base}/{task_id}", None),
        ("PATCH", f"{base}/{task_id}", {"title": "hijacked"}),
        ("PATCH", f"{base}/{task_id}", {"completed": True}),
        ("DELETE", f"{base}/{task_id}", None),
    ]


async def test_bob_gets_403_on_alices_paths_and_404_on_her_task_ids(
    client: httpx.AsyncClient, scene: dict
) -> None:
    task = scene["task"]
    by_her_id = routes(scene["alice_id"], task["id"])
    by_me = routes("me", task["id"])
    for (method, url, body), expected in [
        *((route, 403) for route in by_her_id),
        *((route, 404) for route in by_me if "/tasks/" in route[1]),
    ]:
        response = await client.request(method, url, json=body, headers=scene["bob"])
        assert response.status_code == expected, (method, url)
        assert "secret" not in response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "user_id" not in response.text  # a problem document, never task data
    bobs_list = await client.get("/api/v1/users/me/tasks", headers=scene["bob"])
    assert bobs_list.json()["items"] == []
    unchanged = await client.get(f"/api/v1/users/me/tasks/{task['id']}", headers=scene["alice"])
    assert unchanged.json() == task
    alices = await client.get("/api/v1/users/me/tasks", headers=scene["alice"])
    assert [item["title"] for item in alices.json()["items"]] == ["Alice's secret"]
