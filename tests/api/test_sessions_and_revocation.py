"""Refresh tokens (rotation, reuse detection), logout, sessions, password change and account
deletion over HTTP on real PostgreSQL."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import PASSWORD, make_settings
from todo_api.settings import Settings

SIGNUP, LOGIN, ME = "/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/users/me"
REFRESH, LOGOUT = "/api/v1/auth/refresh", "/api/v1/auth/logout"
SESSIONS, PASSWORD_ROUTE = "/api/v1/users/me/sessions", "/api/v1/users/me/password"
TASKS = "/api/v1/users/me/tasks"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return make_settings(database_url, login_attempts_per_minute=3)


async def log_in(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, agent: str = "pytest"
) -> dict[str, str]:
    response = await client.post(
        LOGIN, data={"username": email, "password": password}, headers={"User-Agent": agent}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


async def new_account(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(SIGNUP, json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return await log_in(client, email)


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_and_a_reused_token_ends_the_session(
    client: httpx.AsyncClient,
) -> None:
    first = await new_account(client, "rita@example.com")
    assert first["refresh_token"] and first["token_type"] == "bearer"
    second = await refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.text
    pair = second.json()
    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await client.get(ME, headers=bearer(pair))).status_code == 200

    reused = await refresh(client, first["refresh_token"])  # the thief, or the victim
    assert reused.status_code == 401
    assert reused.headers["content-type"] == "application/problem+json"
    # The whole family is revoked: the newest token fails as well. No grace window.
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    assert (await client.get(SESSIONS, headers=bearer(pair))).json() == []


async def test_a_chain_of_refreshes_stays_one_session(client: httpx.AsyncClient) -> None:
    tokens = await new_account(client, "chain@example.com")
    for _ in range(3):
        response = await refresh(client, tokens["refresh_token"])
        assert response.status_code == 200
        tokens = response.json()
    sessions = (await client.get(SESSIONS, headers=bearer(tokens))).json()
    assert len(sessions) == 1 and sessions[0]["current"] is True


@pytest.mark.parametrize("token", ["", "nope", "x" * 1024])
async def test_unknown_refresh_tokens_are_401(client: httpx.AsyncClient, token: str) -> None:
    assert (await refresh(client, token)).status_code == 401


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    tokens = await new_account(client, "lou@example.com")
    other = await log_in(client, "lou@example.com", agent="phone")
    response = await client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 204
    assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    # The other device's session is untouched.
    assert (await refresh(client, other["refresh_token"])).status_code == 200
    # Logging out twice, or with an unknown token, is harmless.
    again = await client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 204


async def test_sessions_are_listed_and_revoked_one_by_one(client: httpx.AsyncClient) -> None:
    laptop = await new_account(client, "sam@example.com")
    phone = await log_in(client, "sam@example.com", agent="phone/1.0")
    listed = await client.get(SESSIONS, headers=bearer(laptop))
    assert listed.status_code == 200
    sessions = listed.json()
    assert [s["user_agent"] for s in sessions] == ["phone/1.0", "pytest"]
    assert [s["current"] for s in sessions] == [False, True]
    assert {"id", "created_at", "last_used_at", "user_agent"} <= set(sessions[0])

    gone = await client.delete(f"{SESSIONS}/{sessions[0]['id']}", headers=bearer(laptop))
    assert gone.status_code == 204
    assert (await refresh(client, phone["refresh_token"])).status_code == 401
    assert len((await client.get(SESSIONS, headers=bearer(laptop))).json()) == 1

    stranger = await new_account(client, "eve@example.com")
    theirs = await client.delete(f"{SESSIONS}/{sessions[1]['id']}", headers=bearer(stranger))
    assert theirs.status_code == 404
    assert (await client.get(SESSIONS)).status_code == 401


async def test_password_change_revokes_every_earlier_token(client: httpx.AsyncClient) -> None:
    tokens = await new_account(client, "pam@example.com")
    other = await log_in(client, "pam@example.com", agent="tablet")
    wrong = await client.post(
        PASSWORD_ROUTE,
        headers=bearer(tokens),
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    changed = await client.post(
        PASSWORD_ROUTE,
        headers=bearer(tokens),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204, changed.text
    # Issued a moment ago, most likely within the same second: refused all the same.
    for old in (tokens, other):
        assert (await client.get(ME, headers=bearer(old))).status_code == 401
        assert (await client.get(TASKS, headers=bearer(old))).status_code == 401
        assert (await refresh(client, old["refresh_token"])).status_code == 401
    fresh = await log_in(client, "pam@example.com", NEW_PASSWORD)
    assert (await client.get(TASKS, headers=bearer(fresh))).status_code == 200


async def test_password_change_checks_the_new_password(client: httpx.AsyncClient) -> None:
    tokens = await new_account(client, "weak@example.com")
    response = await client.post(
        PASSWORD_ROUTE,
        headers=bearer(tokens),
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["new_password"]
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


async def test_wrong_passwords_are_throttled(client: httpx.AsyncClient) -> None:
    tokens = await new_account(client, "tom@example.com")
    statuses = []
    for _ in range(4):
        response = await client.post(
            PASSWORD_ROUTE,
            headers=bearer(tokens),
            json={"current_password": "wrong password", "new_password": NEW_PASSWORD},
        )
        statuses.append(response.status_code)
    assert statuses == [401, 401, 401, 429]
    assert int(response.headers["retry-after"]) > 0
    # Even the right password waits until the window has passed.
    right = await client.post(
        PASSWORD_ROUTE,
        headers=bearer(tokens),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert right.status_code == 429
    deletion = await client.request(
        "DELETE", ME, headers=bearer(tokens), json={"password": "wrong password"}
    )
    assert deletion.status_code == 429


async def test_deleting_the_account_removes_everything(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tokens = await new_account(client, "dora@example.com")
    for title in ("one", "two"):
        assert (await client.post(TASKS, headers=bearer(tokens), json={"title": title})).is_success
    wrong = await client.request("DELETE", ME, headers=bearer(tokens), json={"password": "nope!"})
    assert wrong.status_code == 401
    missing = await client.request("DELETE", ME, headers=bearer(tokens), json={})
    assert missing.status_code == 401

    deleted = await client.request(
        "DELETE", ME, headers=bearer(tokens), json={"password": PASSWORD}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 401
    assert (await client.get(TASKS, headers=bearer(tokens))).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 401
    async with engine.connect() as connection:
        for table in ("users", "tasks", "sessions", "refresh_tokens", "account_tokens"):
            count = await connection.scalar(text(f"SELECT count(*) FROM {table}"))
            assert count == 0, table
    again = await client.post(SIGNUP, json={"email": "dora@example.com", "password": PASSWORD})
    assert again.status_code == 201


async def test_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    tokens = await new_account(client, "hal@example.com")
    async with engine.connect() as connection:
        rows = (await connection.execute(text("SELECT token_hash FROM refresh_tokens"))).all()
    assert len(rows) == 1
    assert len(bytes(rows[0][0])) == 32
    assert tokens["refresh_token"].encode() not in bytes(rows[0][0])


async def test_timings_of_login_and_refresh(client: httpx.AsyncClient) -> None:
    """Measured for the record (printed), never asserted."""
    tokens = await new_account(client, "time@example.com")
    logins, refreshes = [], []
    for _ in range(10):
        started = time.perf_counter()
        await log_in(client, "time@example.com")
        logins.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        response = await refresh(client, tokens["refresh_token"])
        refreshes.append((time.perf_counter() - started) * 1000)
        tokens = response.json()
    print(
        f"login {statistics.median(logins):.2f} ms, refresh {statistics.median(refreshes):.2f} ms "
        "(medians of 10, bcrypt cost 4, in-process client)"
    )
