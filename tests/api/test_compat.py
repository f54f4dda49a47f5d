"""The compatibility surface `/api/{user_id}/tasks`: same services, auth, errors and ETags
as `/api/v1`, in the shape Better Auth / Neon Auth front ends call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import SignUp

PROBLEM = "application/problem+json"


async def my_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/v1/users/me", headers=headers)).json()["id"])


async def test_create_list_get_replace_toggle_delete(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    uid = await my_id(client, headers)
    created = await client.post(
        f"/api/{uid}/tasks",
        json={"title": "Buy milk", "description": "2 litres", "tags": ["Shop"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert created.headers["location"] == f"/api/{uid}/tasks/{task['id']}"
    assert created.headers["etag"] == '"v1"'

    listed = await client.get(f"/api/{uid}/tasks", headers=headers)
    assert listed.status_code == 200
    assert isinstance(listed.json(), list)
    assert [t["id"] for t in listed.json()] == [task["id"]]

    got = await client.get(f"/api/me/tasks/{task['id']}", headers=headers)
    assert got.json()["title"] == "Buy milk" and got.headers["etag"] == '"v1"'

    replaced = await client.put(
        f"/api/{uid}/tasks/{task['id']}", json={"title": "Buy oat milk"}, headers=headers
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["title"], body["description"], body["tags"]) == ("Buy oat milk", None, [])
    assert replaced.headers["etag"] == '"v2"'

    toggled = await client.patch(f"/api/{uid}/tasks/{task['id']}/complete", headers=headers)
    assert toggled.status_code == 200
    assert toggled.json()["completed"] is True and toggled.json()["completed_at"]
    back = await client.patch(f"/api/{uid}/tasks/{task['id']}/complete", headers=headers)
    assert back.json()["completed"] is False and back.json()["completed_at"] is None

    deleted = await client.delete(f"/api/{uid}/tasks/{task['id']}", headers=headers)
    assert deleted.status_code == 204
    gone = await client.get(f"/api/{uid}/tasks/{task['id']}", headers=headers)
    assert gone.status_code == 404 and gone.headers["content-type"] == PROBLEM


async def test_a_stale_if_match_stops_the_toggle(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    task = (await client.post("/api/me/tasks", json={"title": "t"}, headers=headers)).json()
    url = f"/api/me/tasks/{task['id']}/complete"
    first = await client.patch(url, headers={**headers, "If-Match": '"v1"'})
    assert first.status_code == 200 and first.json()["completed"] is True
    retried = await client.patch(url, headers={**headers, "If-Match": '"v1"'})
    assert retried.status_code == 412
    assert retried.headers["content-type"] == PROBLEM
    now = await client.get(f"/api/me/tasks/{task['id']}", headers=headers)
    assert now.json()["completed"] is True


async def test_concurrent_toggles_without_if_match_each_flip_once(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    task = (await client.post("/api/me/tasks", json={"title": "t"}, headers=headers)).json()
    url = f"/api/me/tasks/{task['id']}"
    toggles = await asyncio.gather(
        *(client.patch(f"{url}/complete", headers=headers) for _ in range(9))
    )
    assert [answer.status_code for answer in toggles] == [200] * 9  # never 412 without If-Match
    now = (await client.get(url, headers=headers)).json()
    assert (now["completed"], now["version"]) == (True, 10)  # nine flips, one after another


async def test_put_honours_if_match_and_validates(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    task = (await client.post("/api/me/tasks", json={"title": "t"}, headers=headers)).json()
    url = f"/api/me/tasks/{task['id']}"
    stale = await client.put(url, json={"title": "x"}, headers={**headers, "If-Match": '"v9"'})
    assert stale.status_code == 412
    missing_title = await client.put(url, json={"description": "d"}, headers=headers)
    assert missing_title.status_code == 422
    assert missing_title.headers["content-type"] == PROBLEM
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (
        await client.put(url, json={"title": "t", "due_date": past}, headers=headers)
    ).status_code == 422


async def test_list_filters_sorts_and_pages_with_a_link(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    for title in ("a", "b", "c"):
        await client.post(
            "/api/me/tasks", json={"title": title, "priority": "high"}, headers=headers
        )
    await client.post(
        "/api/me/tasks", json={"title": "low one", "priority": "low"}, headers=headers
    )
    first = await client.get(
        "/api/me/tasks", params={"priority": "high", "sort": "title", "limit": 2}, headers=headers
    )
    assert [t["title"] for t in first.json()] == ["a", "b"]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    second = await client.get(link[1 : link.index(">")], headers=headers)
    assert [t["title"] for t in second.json()] == ["c"]
    assert "link" not in second.headers


async def test_isolation_and_auth(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    alice, bob = await sign_up(), await sign_up()
    alice_id = await my_id(client, alice)
    task = (await client.post("/api/me/tasks", json={"title": "mine"}, headers=alice)).json()
    assert (await client.get(f"/api/{alice_id}/tasks", headers=bob)).status_code == 403
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(
            method, f"/api/me/tasks/{task['id']}", headers=bob, json={"title": "x"}
        )
        assert response.status_code == 404, method
    assert (
        await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=bob)
    ).status_code == 404
    assert (await client.get("/api/me/tasks")).status_code == 401
    assert (await client.get("/api/someone-else/tasks", headers=alice)).status_code == 403
    untouched = await client.get(f"/api/me/tasks/{task['id']}", headers=alice)
    assert untouched.json()["title"] == "mine" and untouched.json()["completed"] is False


async def test_toggling_a_recurring_task_creates_the_next_occurrence(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    due = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    task = (
        await client.post(
            "/api/me/tasks",
            json={"title": "Stand-up", "due_date": due, "recurrence": "daily"},
            headers=headers,
        )
    ).json()
    toggled = await client.patch(f"/api/me/tasks/{task['id']}/complete", headers=headers)
    following = toggled.json()["next_occurrence"]
    assert following is not None
    assert (
        toggled.headers["link"]
        == f'</api/{task["user_id"]}/tasks/{following["id"]}>; rel="next-occurrence"'
    )


async def test_put_refuses_a_completed_that_is_not_a_boolean(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    task = (await client.post("/api/me/tasks", json={"title": "t"}, headers=headers)).json()
    for value in (0, 1, "true"):
        response = await client.put(
            f"/api/me/tasks/{task['id']}", json={"title": "t", "completed": value}, headers=headers
        )
        assert response.status_code == 422, value


async def test_a_due_date_must_be_a_date_and_time_not_a_number(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    task = (await client.post("/api/me/tasks", json={"title": "t"}, headers=headers)).json()
    for method, path in (("POST", "/api/me/tasks"), ("PUT", f"/api/me/tasks/{task['id']}")):
        response = await client.request(
            method, path, json={"title": "t", "due_date": 0}, headers=headers
        )
        assert response.status_code == 422, method
    patch = await client.patch(
        f"/api/v1/users/me/tasks/{task['id']}", json={"due_date": 4102444800}, headers=headers
    )
    assert patch.status_code == 422
