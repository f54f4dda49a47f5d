"""Fixtures for the security tests: the API tests' real app on real PostgreSQL (reused, not
copied), plus what attacks need: a second user, a database snapshot, a settable clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api import conftest as api
from tests.api.conftest import Headers, SignUp
from tests.security.leaks import leaks

# The API tests' fixtures, reused as they are: the real app, its client, signing users up.
app, client, settings, sign_up = api.app, api.client, api.settings, api.sign_up

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Account:
    headers: Headers
    id: str
    task: dict[str, Any]  # one task of theirs, as the API returned it

    @property
    def task_url(self) -> str:
        return f"/api/v1/users/me/tasks/{self.task['id']}"


@pytest.fixture
def account(client: httpx.AsyncClient, sign_up: SignUp) -> Callable[[], Awaitable[Account]]:
    """A fresh signed-up user with one task."""

    async def make() -> Account:
        headers = await sign_up()
        me = await client.get("/api/v1/users/me", headers=headers)
        created = await client.post(
            "/api/v1/users/me/tasks",
            json={"title": "private plans", "description": "secret", "tags": ["mine"]},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        return Account(headers, me.json()["id"], created.json())

    return make


Snapshot = Callable[[], Awaitable[tuple[list[Any], list[Any]]]]


@pytest.fixture
def snapshot(engine: AsyncEngine) -> Snapshot:
    """Every user and task row as stored, to prove that a refused request changed nothing."""

    async def take() -> tuple[list[Any], list[Any]]:
        async with engine.connect() as connection:
            users = await connection.execute(text("SELECT * FROM users ORDER BY id"))
            tasks = await connection.execute(text("SELECT * FROM tasks ORDER BY id"))
            return [tuple(row) for row in users], [tuple(row) for row in tasks]

    return take


class FakeMonotonic:
    """A monotonic clock that moves only when told to: throttle windows without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def assert_problem(response: httpx.Response, status: int | None = None) -> dict[str, Any]:
    """A clear client error: 4xx problem+json whose `status` matches, with nothing internal."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if status is not None:
        assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code
    assert body["detail"] and body["title"] and body["type"]
    assert leaks(response.text) == []
    return body
