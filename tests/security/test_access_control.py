"""Who may touch what: every authenticated route refuses every kind of bad token with 401 and
`WWW-Authenticate: Bearer`; user B gets 403/404 on everything of user A's, and A's data stays."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import TEST_SECRET
from tests.security.conftest import Account, Snapshot, assert_problem

Make = Callable[[], Awaitable[Account]]
OTHER_KEY = "another-key-that-is-long-enough-for-hs256-but-not-ours"


def _routes(account: Account) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every route that needs a token, as (method, path, JSON body)."""
    task = account.task_url
    return [
        ("GET", "/api/v1/users/me", None),
        ("GET", "/api/v1/users/me/tasks", None),
        ("POST", "/api/v1/users/me/tasks", {"title": "sneaky"}),
        ("GET", task, None),
        ("PATCH", task, {"title": "changed"}),
        ("DELETE", task, None),
    ]


def _claims(user_id: str, **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "iat": now, "exp": now + timedelta(minutes=5), "iss": "todo"}
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, default=lambda moment: int(moment.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(user_id: str) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(user_id))}."


def _tampered(user_id: str, victim_id: str) -> str:
    header, _, signature = jwt.encode(_claims(user_id), TEST_SECRET).split(".")
    return f"{header}.{_b64(_claims(victim_id))}.{signature}"


async def _bad_token(kind: str, user: Account, victim: Account, engine: AsyncEngine) -> str | None:
    past = datetime.now(UTC) - timedelta(hours=1)
    match kind:
        case "none":
            return None
        case "expired":
            return jwt.encode(
                _claims(user.id, iat=past - timedelta(hours=1), exp=past), TEST_SECRET
            )
        case "other-key":
            return jwt.encode(_claims(user.id), OTHER_KEY)
        case "alg-none":
            return _unsigned(user.id)
        case "tampered":
            return _tampered(user.id, victim.id)
        case "no-sub":
            return jwt.encode(_claims(user.id, sub=None), TEST_SECRET)
        case "no-exp":
            return jwt.encode(_claims(user.id, exp=None), TEST_SECRET)
        case "wrong-issuer":
            return jwt.encode(_claims(user.id, iss="someone-else"), TEST_SECRET)
        case "sub-not-a-uuid":
            return jwt.encode(_claims("' OR 1=1 --"), TEST_SECRET)
        case "garbage":
            return "not.a.jwt"
    async with engine.begin() as connection:
        if kind == "deleted-user":
            await connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
        else:  # inactive-user
            statement = "UPDATE users SET is_active = false WHERE id = :id"
            await connection.execute(text(statement), {"id": user.id})
    return jwt.encode(_claims(user.id), TEST_SECRET)


TOKEN_KINDS = [
    "none",
    "expired",
    "other-key",
    "alg-none",
    "tampered",
    "no-sub",
    "no-exp",
    "wrong-issuer",
    "sub-not-a-uuid",
    "garbage",
    "deleted-user",
    "inactive-user",
]


@pytest.mark.parametrize("kind", TOKEN_KINDS)
async def test_every_route_answers_a_bad_token_with_401(
    client: httpx.AsyncClient,
    account: Make,
    engine: AsyncEngine,
    snapshot: Snapshot,
    kind: str,
) -> None:
    user, victim = await account(), await account()
    token = await _bad_token(kind, user, victim, engine)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    before = await snapshot()
    for method, path, body in _routes(user) + _routes(victim):
        response = await client.request(method, path, json=body, headers=headers)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == "Bearer", (method, path)
    assert await snapshot() == before


@pytest.mark.parametrize("scheme", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token abc"])
async def test_other_authorization_schemes_are_401(
    client: httpx.AsyncClient, account: Make, scheme: str
) -> None:
    user = await account()
    for method, path, body in _routes(user):
        response = await client.request(method, path, json=body, headers={"Authorization": scheme})
        assert_problem(response, 401)


async def test_user_b_can_neither_see_nor_touch_user_a_tasks(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot
) -> None:
    alice, bob = await account(), await account()
    task_id = alice.task["id"]
    before = await snapshot()
    by_alices_id = f"/api/v1/users/{alice.id}/tasks"
    attempts = [
        # By Alice's user id: the path names another user, 403.
        ("GET", by_alices_id, None, 403),
        ("POST", by_alices_id, {"title": "planted"}, 403),
        ("GET", f"{by_alices_id}/{task_id}", None, 403),
        ("PATCH", f"{by_alices_id}/{task_id}", {"title": "mine now"}, 403),
        ("PATCH", f"{by_alices_id}/{task_id}", {"completed": True}, 403),
        ("DELETE", f"{by_alices_id}/{task_id}", None, 403),
        # By `me` with Alice's task id: no such task among Bob's, 404.
        ("GET", f"/api/v1/users/me/tasks/{task_id}", None, 404),
        ("PATCH", f"/api/v1/users/me/tasks/{task_id}", {"title": "mine now"}, 404),
        ("PATCH", f"/api/v1/users/me/tasks/{task_id}", {"completed": True}, 404),
        ("DELETE", f"/api/v1/users/me/tasks/{task_id}", None, 404),
        # Bob's own id with Alice's task id: still 404.
        ("GET", f"/api/v1/users/{bob.id}/tasks/{task_id}", None, 404),
        ("DELETE", f"/api/v1/users/{bob.id}/tasks/{task_id}", None, 404),
    ]
    for method, path, body, status in attempts:
        response = await client.request(method, path, json=body, headers=bob.headers)
        assert_problem(response, status)
        # Nothing of Alice's comes back (the `instance` only echoes the path Bob sent).
        assert "private plans" not in response.text and "created_at" not in response.text
    assert await snapshot() == before
    mine = await client.get(alice.task_url, headers=alice.headers)
    assert mine.json() == alice.task
    listed = await client.get("/api/v1/users/me/tasks", headers=bob.headers)
    assert [task["id"] for task in listed.json()["items"]] == [bob.task["id"]]


async def test_a_token_is_not_a_key_to_another_users_listing_filters(
    client: httpx.AsyncClient, account: Make
) -> None:
    alice, bob = await account(), await account()
    for params in ({"q": "private"}, {"tag": "mine"}, {"user_id": alice.id}):
        listed = await client.get("/api/v1/users/me/tasks", params=params, headers=bob.headers)
        assert [task["id"] for task in listed.json()["items"]] == [bob.task["id"]]
