"""A real Better Auth front end's users against the API: two users sign up through Better
Auth's HTTP API, get their JWTs from it, and drive both route shapes with them."""

from __future__ import annotations

import base64
import json
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import text

from tests.better_auth.conftest import SCHEMA, BetterAuth
from todo_core.postgres import PostgresDatabase


@dataclass
class Person:
    client: httpx.AsyncClient  # holds the Better Auth session cookie
    email: str
    id: str  # Better Auth's user id: 32 alphanumerics, not a UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def fresh_token(self) -> str:
        response = await self.client.get("/api/auth/token")
        assert response.status_code == 200, response.text
        self.token = response.json()["token"]
        return self.token


SignUp = Callable[[], Awaitable[Person]]


@pytest.fixture
async def sign_up(better_auth: BetterAuth) -> AsyncIterator[SignUp]:
    clients: list[httpx.AsyncClient] = []

    async def sign_up_one() -> Person:
        client = httpx.AsyncClient(
            base_url=better_auth.base_url, headers={"Origin": better_auth.base_url}
        )
        clients.append(client)
        email = f"ba-{secrets.token_hex(4)}@example.com"
        response = await client.post(
            "/api/auth/sign-up/email",
            json={"email": email, "password": "correct horse battery", "name": "Ada Lovelace"},
        )
        assert response.status_code == 200, response.text
        user_id = response.json()["user"]["id"]
        person = Person(client, email, user_id, "")
        await person.fresh_token()
        return person

    yield sign_up_one
    for client in clients:
        await client.aclose()


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


async def test_the_token_is_what_the_issue_says(sign_up: SignUp, better_auth: BetterAuth) -> None:
    person = await sign_up()
    header, claims = unverified(person.token)
    assert header["alg"] == "EdDSA" and header["kid"]
    assert claims["sub"] == claims["id"] == person.id
    assert (claims["email"], claims["name"], claims["emailVerified"]) == (
        person.email, "Ada Lovelace", False,
    )  # fmt: skip
    assert claims["iss"] == claims["aud"] == better_auth.base_url
    assert claims["exp"] - claims["iat"] == 15 * 60
    session = await person.client.get("/api/auth/get-session")
    assert unverified(session.headers["set-auth-jwt"])[1]["sub"] == person.id


async def test_two_users_drive_both_route_shapes(api: httpx.AsyncClient, sign_up: SignUp) -> None:
    ada, bob = await sign_up(), await sign_up()

    me = await api.get("/api/v1/users/me", headers=ada.headers)
    assert me.status_code == 200, me.text
    assert (me.json()["email"], me.json()["name"]) == (ada.email, "Ada Lovelace")
    local_id = me.json()["id"]
    for ref in (ada.id, local_id, "me"):
        assert (await api.get(f"/api/v1/users/{ref}", headers=ada.headers)).status_code == 200

    # The compatibility surface, with Better Auth's id in the path.
    created = await api.post(
        f"/api/{ada.id}/tasks", json={"title": "from Next.js"}, headers=ada.headers
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    listed = await api.get(f"/api/{ada.id}/tasks", headers=ada.headers)
    assert [t["id"] for t in listed.json()] == [task_id]
    got = await api.get(f"/api/{ada.id}/tasks/{task_id}", headers=ada.headers)
    assert got.status_code == 200 and got.headers["etag"] == '"v1"'
    put = await api.put(
        f"/api/{ada.id}/tasks/{task_id}",
        json={"title": "renamed", "priority": "high"},
        headers=ada.headers,
    )
    assert put.status_code == 200 and put.json()["priority"] == "high"
    done = await api.patch(f"/api/{ada.id}/tasks/{task_id}/complete", headers=ada.headers)
    assert done.json()["completed"] is True

    # The main API, same user, same task.
    v1 = f"/api/v1/users/{ada.id}/tasks"
    assert [t["title"] for t in (await api.get(v1, headers=ada.headers)).json()["items"]] == [
        "renamed"
    ]
    reopened = await api.patch(f"{v1}/{task_id}", json={"completed": False}, headers=ada.headers)
    assert reopened.json()["completed"] is False
    second = await api.post(v1, json={"title": "second"}, headers=ada.headers)
    assert second.status_code == 201

    # Isolation, both ways, on both shapes.
    bob_task = (
        await api.post("/api/me/tasks", json={"title": "bob's"}, headers=bob.headers)
    ).json()
    for owner, other, their_task in ((ada, bob, task_id), (bob, ada, bob_task["id"])):
        for path in (f"/api/{owner.id}/tasks", f"/api/v1/users/{owner.id}/tasks"):
            assert (await api.get(path, headers=other.headers)).status_code == 403
        for path in (f"/api/{other.id}/tasks/{their_task}", f"/api/v1/users/me/tasks/{their_task}"):
            assert (await api.get(path, headers=other.headers)).status_code == 404
        assert (
            await api.patch(f"/api/{other.id}/tasks/{their_task}/complete", headers=other.headers)
        ).status_code == 404
        assert (
            await api.put(
                f"/api/{other.id}/tasks/{their_task}", json={"title": "x"}, headers=other.headers
            )
        ).status_code == 404
        assert (
            await api.delete(f"/api/{other.id}/tasks/{their_task}", headers=other.headers)
        ).status_code == 404

    assert (
        await api.delete(f"/api/{ada.id}/tasks/{task_id}", headers=ada.headers)
    ).status_code == 204
    assert (await api.delete(f"{v1}/{second.json()['id']}", headers=ada.headers)).status_code == 204
    assert (await api.get(f"/api/{ada.id}/tasks", headers=ada.headers)).json() == []
    assert len((await api.get(f"/api/{bob.id}/tasks", headers=bob.headers)).json()) == 1


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _signed_by_better_auth(better_auth: BetterAuth, payload: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=better_auth.base_url) as client:
        response = await client.post("/test/sign", json={"payload": payload})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def test_bad_tokens_are_401(
    api: httpx.AsyncClient, sign_up: SignUp, better_auth: BetterAuth
) -> None:
    person = await sign_up()
    header, claims = unverified(person.token)
    now = int(time.time())
    base = {k: v for k, v in claims.items() if k not in ("exp", "iss", "aud")}
    base["iat"] = now
    head, body, signature = person.token.split(".")
    impostor = ed25519.Ed25519PrivateKey.generate()
    bad = {
        "expired": await _signed_by_better_auth(
            better_auth, {**base, "iat": now - 3600, "exp": now - 1800}
        ),
        "wrong-issuer": await _signed_by_better_auth(
            better_auth, {**base, "iss": "https://evil.example"}
        ),
        "wrong-audience": await _signed_by_better_auth(
            better_auth, {**base, "aud": "https://other.example"}
        ),
        "tampered": f"{head}.{_b64({**claims, 'email': 'someone@example.com'})}.{signature}",
        "other-key": jwt.encode(
            claims, impostor, algorithm="EdDSA", headers={"kid": header["kid"]}
        ),
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': header['kid']})}.{body}.",
    }
    genuine = await _signed_by_better_auth(better_auth, base)
    assert (
        await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {genuine}"})
    ).status_code == 200
    for name, token in bad.items():
        for path in ("/api/v1/users/me", f"/api/{person.id}/tasks"):
            response = await api.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (name, path, response.text)


async def test_a_rotated_key_is_picked_up(
    api: httpx.AsyncClient, sign_up: SignUp, database: PostgresDatabase
) -> None:
    person = await sign_up()
    old_token = person.token
    assert (await api.get("/api/v1/users/me", headers=person.headers)).status_code == 200
    # Better Auth's own rotation: a key past its expiresAt no longer signs; the next token
    # mints a new key, and the JWKS keeps the old one for its grace period.
    async with database.engine.begin() as connection:
        await connection.execute(
            text(f"UPDATE {SCHEMA}.jwks SET \"expiresAt\" = now() - interval '1 minute'")
        )
    new_token = await person.fresh_token()
    assert unverified(new_token)[0]["kid"] != unverified(old_token)[0]["kid"]
    assert (await api.get("/api/v1/users/me", headers=person.headers)).status_code == 200
    old = await api.get("/api/v1/users/me", headers={"Authorization": f"Bearer {old_token}"})
    assert old.status_code == 200


async def test_cost_of_a_new_subject_against_later_requests(
    api: httpx.AsyncClient, sign_up: SignUp
) -> None:
    """Measured, never asserted: the first request of a new subject (JWKS already cached)
    creates the user; later ones find it in the identity cache."""
    await api.get("/api/v1/users/me", headers=(await sign_up()).headers)  # warms the JWKS
    first, later = [], []
    for _ in range(5):
        person = await sign_up()
        started = time.perf_counter()
        assert (await api.get("/api/me/tasks", headers=person.headers)).status_code == 200
        first.append((time.perf_counter() - started) * 1000)
        for _ in range(10):
            started = time.perf_counter()
            await api.get("/api/me/tasks", headers=person.headers)
            later.append((time.perf_counter() - started) * 1000)
    print(
        f"\nexternal identity cost (in-process ASGI, GET /api/me/tasks): first request of a new "
        f"subject median {statistics.median(first):.1f} ms, later requests median "
        f"{statistics.median(later):.1f} ms"
    )
