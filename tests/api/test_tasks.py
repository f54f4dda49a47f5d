"""Task routes end to end: create, read, update, complete, reopen, delete, with ETags."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import Headers, SignUp
from todo_api.schemas.tasks import TaskPatch, TaskPublic
from todo_core import Task, TaskChanges

TASKS = "/api/v1/users/me/tasks"


def soon(days: int = 3) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
async def auth(sign_up: SignUp) -> Headers:
    return await sign_up()


async def create(client: httpx.AsyncClient, auth: Headers, **body: Any) -> httpx.Response:
    response = await client.post(TASKS, json={"title": "Write", **body}, headers=auth)
    assert response.status_code == 201, response.text
    return response


async def test_create_returns_the_task_location_and_etag(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    response = await create(
        client,
        auth,
        title="  Plan the week ",
        description="and the weekend",
        priority="High",
        due_date=soon(),
        tags=[" Home", "home", "WORK"],
    )
    task = response.json()
    assert task["title"] == "Plan the week"
    assert task["priority"] == "high"
    assert task["tags"] == ["home", "work"]
    assert (task["completed"], task["completed_at"], task["recurrence"]) == (False, None, None)
    assert task["due_date"].endswith("+00:00")
    assert response.headers["etag"] == '"v1"'
    location = response.headers["location"]
    assert location == f"/api/v1/users/{task['user_id']}/tasks/{task['id']}"
    fetched = await client.get(location, headers=auth)
    assert fetched.json() == task
    assert fetched.headers["etag"] == '"v1"'


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"tags": ["x" * 11]}, "tags"),
        ({"tags": [f"t{n}" for n in range(21)]}, "tags"),
        ({"tags": [" "]}, "tags"),
        ({"due_date": "2020-01-01T00:00:00+00:00"}, "due_date"),
        ({"due_date": "2030-01-01T00:00:00"}, "body.due_date"),
        ({"priority": "urgent"}, "body.priority"),
        ({"recurrence": "daily"}, "recurrence"),
        ({"recurrence": "FREQ=SECONDLY", "due_date": soon()}, "recurrence"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
async def test_invalid_tasks_are_422_and_nothing_is_stored(
    client: httpx.AsyncClient, auth: Headers, body: dict[str, Any], field: str
) -> None:
    response = await client.post(TASKS, json={"title": "ok", **body}, headers=auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
    assert (await client.get(TASKS, headers=auth)).json()["items"] == []


async def test_twenty_tags_of_ten_characters_are_fine(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    tags = [f"tag{n:07d}" for n in range(20)]
    assert (await create(client, auth, tags=tags)).json()["tags"] == tags


async def test_patch_changes_only_what_is_sent(client: httpx.AsyncClient, auth: Headers) -> None:
    task = (await create(client, auth, description="keep me", tags=["a"])).json()
    url = f"{TASKS}/{task['id']}"
    response = await client.patch(url, json={"title": "Renamed", "priority": "LOW"}, headers=auth)
    assert response.status_code == 200
    patched = response.json()
    assert (patched["title"], patched["priority"], patched["description"]) == (
        "Renamed",
        "low",
        "keep me",
    )
    assert patched["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert patched["updated_at"] > task["updated_at"]
    cleared = await client.patch(url, json={"description": None}, headers=auth)
    assert cleared.json()["description"] is None


async def test_complete_and_reopen_are_explicit_and_idempotent(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    url = f"{TASKS}/{(await create(client, auth)).json()['id']}"
    done = (await client.patch(url, json={"completed": True}, headers=auth)).json()
    assert done["completed"] is True
    assert done["completed_at"] is not None
    again = (await client.patch(url, json={"completed": True}, headers=auth)).json()
    assert again["completed_at"] == done["completed_at"]
    reopened = (await client.patch(url, json={"completed": False}, headers=auth)).json()
    assert (reopened["completed"], reopened["completed_at"]) == (False, None)


async def test_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    url = f"{TASKS}/{(await create(client, auth)).json()['id']}"
    first = await client.patch(url, json={"title": "Phone"}, headers={**auth, "If-Match": '"v1"'})
    assert first.status_code == 200
    stale = await client.patch(url, json={"title": "Laptop"}, headers={**auth, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    delete = await client.delete(url, headers={**auth, "If-Match": '"v1"'})
    assert delete.status_code == 412
    current = await client.get(url, headers=auth)
    assert (current.json()["title"], current.headers["etag"]) == ("Phone", '"v2"')
    fresh = await client.delete(url, headers={**auth, "If-Match": current.headers["etag"]})
    assert fresh.status_code == 204


async def test_delete_then_everything_is_404(client: httpx.AsyncClient, auth: Headers) -> None:
    url = f"{TASKS}/{(await create(client, auth)).json()['id']}"
    assert (await client.delete(url, headers=auth)).status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404
    assert (await client.patch(url, json={"title": "x"}, headers=auth)).status_code == 404
    assert (await client.delete(url, headers=auth)).status_code == 404


async def test_past_due_date_on_change_is_422_but_overdue_tasks_stay_editable(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    url = f"{TASKS}/{(await create(client, auth, due_date=soon())).json()['id']}"
    past = await client.patch(url, json={"due_date": "2001-01-01T00:00:00Z"}, headers=auth)
    assert past.status_code == 422
    assert (await client.patch(url, json={"title": "still fine"}, headers=auth)).status_code == 200


async def test_null_for_a_required_field_is_422(client: httpx.AsyncClient, auth: Headers) -> None:
    url = f"{TASKS}/{(await create(client, auth)).json()['id']}"
    response = await client.patch(url, json={"title": None}, headers=auth)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "title"


def test_patch_body_names_exactly_the_changeable_fields() -> None:
    # The route hands every sent member of the body to TaskChanges by name.
    assert list(TaskPatch.model_fields) == [field.name for field in fields(TaskChanges)]


def test_task_bodies_are_the_entity_fields() -> None:
    assert list(TaskPublic.model_fields) == [field.name for field in fields(Task)]
