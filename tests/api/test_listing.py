"""Task lists over HTTP: filters, sorting, cursor pages and the Link header."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import Headers, SignUp

TASKS = "/api/v1/users/me/tasks"


@pytest.fixture
async def auth(sign_up: SignUp) -> Headers:
    return await sign_up()


async def add(client: httpx.AsyncClient, auth: Headers, title: str, **body: object) -> dict:
    response = await client.post(TASKS, json={"title": title, **body}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def titles(client: httpx.AsyncClient, auth: Headers, **params: object) -> list[str]:
    response = await client.get(TASKS, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_filters_and_sorts(client: httpx.AsyncClient, auth: Headers) -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    await add(client, auth, "alpha report", priority="low", tags=["work", "q1"])
    await add(client, auth, "beta", priority="high", tags=["work"], due_date=soon.isoformat())
    gamma = await add(client, auth, "gamma", description="the REPORT draft", tags=["home"])
    await client.patch(f"{TASKS}/{gamma['id']}", json={"completed": True}, headers=auth)

    assert await titles(client, auth) == ["gamma", "beta", "alpha report"]
    assert await titles(client, auth, sort="title") == ["alpha report", "beta", "gamma"]
    assert await titles(client, auth, sort="-priority") == ["beta", "gamma", "alpha report"]
    assert await titles(client, auth, completed="true") == ["gamma"]
    assert await titles(client, auth, priority="HIGH") == ["beta"]
    assert await titles(client, auth, tag=["work", "q1"]) == ["alpha report"]
    assert await titles(client, auth, q="report", sort="title") == ["alpha report", "gamma"]
    later = (soon + timedelta(hours=1)).isoformat()
    assert await titles(client, auth, due_before=later) == ["beta"]
    assert await titles(client, auth, overdue="true") == []
    assert await titles(client, auth, q="100%") == []


async def test_bad_list_parameters_are_422(client: httpx.AsyncClient, auth: Headers) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"sort": "colour"}, {"cursor": "%%%"}):
        response = await client.get(TASKS, params=params, headers=auth)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


async def test_250_tasks_page_without_gaps_or_repeats_while_tasks_are_added(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    originals = {(await add(client, auth, f"task {n}"))["id"] for n in range(250)}
    for sort in ("-created_at", "created_at"):
        seen: list[str] = []
        url: str | None = f"{TASKS}?limit=20&sort={sort}"
        while url:
            response = await client.get(url, headers=auth)
            page = response.json()
            seen += [item["id"] for item in page["items"]]
            await add(client, auth, "added while paging")
            link = response.headers.get("link")
            assert (link is None) == (page["next_cursor"] is None)
            url = link.split(">")[0].lstrip("<") if link else None
        assert len(seen) == len(set(seen)), "a task appeared twice"
        assert originals <= set(seen), "a task was skipped"
