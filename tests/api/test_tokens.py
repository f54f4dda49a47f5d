"""Access tokens: expired, tampered, foreign or orphaned ones are all 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import TEST_SECRET, SignUp

ME = "/api/v1/users/me"


def token(secret: str = TEST_SECRET, **claims: object) -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {"iat": now, "exp": now + timedelta(minutes=5), "iss": "todo"}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


async def user_id(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get(ME, headers=headers)).json()["id"])


async def test_a_valid_token_works(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    uid = await user_id(client, await sign_up())
    response = await client.get(ME, headers={"Authorization": f"Bearer {token(sub=uid)}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda uid: token(sub=uid, exp=datetime.now(UTC) - timedelta(seconds=1)),
        lambda uid: token(secret="another-secret-of-sufficient-length-0123456789", sub=uid),
        lambda uid: token(sub=uid)[:-3] + "AAA",
        lambda uid: token(sub=uid, iss="someone-else"),
        lambda uid: token(),
        lambda uid: jwt.encode({"sub": uid}, TEST_SECRET, algorithm="HS256"),
        lambda uid: jwt.encode({"sub": uid, "exp": 9999999999, "iat": 0}, None, algorithm="none"),
        lambda uid: "not a token",
    ],
    ids=[
        "expired",
        "other-key",
        "tampered",
        "other-issuer",
        "no-sub",
        "no-exp",
        "alg-none",
        "junk",
    ],
)
async def test_bad_tokens_are_401(client: httpx.AsyncClient, sign_up: SignUp, make: object) -> None:
    uid = await user_id(client, await sign_up())
    bad = make(uid)  # type: ignore[operator]
    response = await client.get(ME, headers={"Authorization": f"Bearer {bad}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM users WHERE id = :id", "UPDATE users SET is_active = false WHERE id = :id"],
    ids=["deleted", "inactive"],
)
async def test_token_of_a_deleted_or_inactive_user_is_401(
    client: httpx.AsyncClient, sign_up: SignUp, engine: AsyncEngine, statement: str
) -> None:
    headers = await sign_up()
    uid = await user_id(client, headers)
    async with engine.begin() as connection:
        await connection.execute(text(statement), {"id": uid})
    assert (await client.get(ME, headers=headers)).status_code == 401


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM users WHERE id = :id",
        "UPDATE users SET is_active = false WHERE id = :id",
        "UPDATE users SET tokens_valid_after = now() + interval '1 minute' WHERE id = :id",
    ],
    ids=["deleted", "inactive", "revoked"],
)
async def test_every_task_route_refuses_a_token_its_user_can_no_longer_use(
    client: httpx.AsyncClient, sign_up: SignUp, engine: AsyncEngine, statement: str
) -> None:
    """Each route's own statement carries the check (folded into a one-task read or a write,
    pipelined before a list): none of them may answer with data, or change anything."""
    headers = await sign_up()
    uid = await user_id(client, headers)
    created = await client.post(f"{ME}/tasks", json={"title": "mine"}, headers=headers)
    task = f"{ME}/tasks/{created.json()['id']}"
    async with engine.begin() as connection:
        await connection.execute(text(statement), {"id": uid})
    calls = [
        client.get(task, headers=headers),
        client.get(f"{ME}/tasks/00000000-0000-4000-8000-000000000000", headers=headers),
        client.get(f"{ME}/tasks", headers=headers),
        client.patch(task, json={"title": "changed"}, headers=headers),
        client.patch(task, json={"completed": True}, headers=headers),
        client.patch(f"/api/{uid}/tasks/{created.json()['id']}/complete", headers=headers),
        client.post(f"{ME}/tasks", json={"title": "another"}, headers=headers),
        client.delete(task, headers=headers),
        client.get(f"/api/{uid}/tasks/{created.json()['id']}", headers=headers),
    ]
    for call in calls:
        answer = await call
        assert answer.status_code == 401, (answer.request.method, answer.request.url)
    async with engine.begin() as connection:
        titles = (await connection.execute(text("SELECT title FROM tasks"))).scalars().all()
    assert titles in ([], ["mine"])  # deleted with its user, or untouched
