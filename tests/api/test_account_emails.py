"""The emailed flows end to end: the real app on real PostgreSQL sends through aiosmtplib to a
real SMTP server (aiosmtpd) in this process, and the tests follow the links it received."""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import PASSWORD, make_settings
from tests.support.smtp import Inbox, smtp_server
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.settings import Settings
from todo_core.postgres.database import PostgresDatabase
from todo_core.testing import FixedClock

SIGNUP, LOGIN, ME = "/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/users/me"
RESET, RESET_CONFIRM = "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm"
VERIFY, VERIFY_CONFIRM = "/api/v1/auth/verify-email", "/api/v1/auth/verify-email/confirm"
NEW_PASSWORD = "a brand new passphrase"
PUBLIC_URL = "https://todo.example"


@pytest.fixture
async def inbox() -> AsyncIterator[Inbox]:
    async with smtp_server() as inbox:
        yield inbox


def smtp_settings(database_url: URL, inbox: Inbox, **overrides: object) -> Settings:
    return make_settings(
        database_url,
        smtp_host=inbox.host,
        smtp_port=inbox.port,
        smtp_tls="none",
        email_from="todo <no-reply@todo.example>",
        public_url=PUBLIC_URL,
        **overrides,
    )


@pytest.fixture
def settings(database_url: URL, inbox: Inbox) -> Settings:
    return smtp_settings(database_url, inbox, login_attempts_per_minute=5)


async def signed_up(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    response = await client.post(SIGNUP, json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    login = await client.post(LOGIN, data={"username": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def assert_bad_token(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["token"]


async def test_sign_up_sends_a_link_that_verifies_the_email(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    tokens = await signed_up(client, "vera@example.com")
    email = await inbox.wait_for("vera@example.com", subject="confirm")
    assert email.link is not None and email.link.startswith(f"{PUBLIC_URL}/verify-email?token=")
    assert (await client.get(ME, headers=bearer(tokens))).json()["email_verified"] is False

    confirmed = await client.post(VERIFY_CONFIRM, json={"token": email.token})
    assert confirmed.status_code == 204, confirmed.text
    assert (await client.get(ME, headers=bearer(tokens))).json()["email_verified"] is True
    assert_bad_token(await client.post(VERIFY_CONFIRM, json={"token": email.token}))


async def test_verify_email_sends_a_fresh_link(client: httpx.AsyncClient, inbox: Inbox) -> None:
    tokens = await signed_up(client, "val@example.com")
    await inbox.wait_for("val@example.com")  # the sign-up's own
    assert (await client.post(VERIFY)).status_code == 401

    response = await client.post(VERIFY, headers=bearer(tokens))
    assert response.status_code == 202, response.text
    email = await inbox.wait_for("val@example.com", subject="confirm")
    assert (await client.post(VERIFY_CONFIRM, json={"token": email.token})).status_code == 204
    assert (await client.get(ME, headers=bearer(tokens))).json()["email_verified"] is True


@pytest.mark.parametrize("token", ["", "x" * 43, "not a token at all", "x" * 1000])
async def test_unknown_verification_tokens_name_the_field(
    client: httpx.AsyncClient, token: str
) -> None:
    response = await client.post(VERIFY_CONFIRM, json={"token": token})
    assert response.status_code == 422
    assert "token" in {e["field"].split(".")[-1] for e in response.json()["errors"]}


async def test_password_reset_end_to_end(
    client: httpx.AsyncClient, inbox: Inbox, engine: AsyncEngine
) -> None:
    before = await signed_up(client, "rose@example.com")
    response = await client.post(RESET, json={"email": "Rose@Example.com "})
    assert response.status_code == 202, response.text
    email = await inbox.wait_for("rose@example.com", subject="reset")
    assert email.link is not None and email.link.startswith(f"{PUBLIC_URL}/reset-password?token=")
    async with engine.connect() as connection:  # only a hash is stored, never the token
        stored = (await connection.execute(text("SELECT token_hash FROM account_tokens"))).all()
    assert stored and all(email.token.encode() not in bytes(row[0]) for row in stored)

    done = await client.post(
        RESET_CONFIRM, json={"token": email.token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text

    # Everything issued before the reset is refused, even within the same second.
    assert (await client.get(ME, headers=bearer(before))).status_code == 401
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}
    )
    assert refreshed.status_code == 401
    old = await client.post(LOGIN, data={"username": "rose@example.com", "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(LOGIN, data={"username": "rose@example.com", "password": NEW_PASSWORD})
    assert new.status_code == 200
    me = await client.get(ME, headers=bearer(new.json()))
    assert me.status_code == 200
    assert me.json()["email_verified"] is True  # the link reached the address

    # Single use.
    again = await client.post(RESET_CONFIRM, json={"token": email.token, "new_password": PASSWORD})
    assert_bad_token(again)


async def test_reset_checks_the_new_password(client: httpx.AsyncClient, inbox: Inbox) -> None:
    await signed_up(client, "short@example.com")
    await client.post(RESET, json={"email": "short@example.com"})
    email = await inbox.wait_for("short@example.com", subject="reset")
    response = await client.post(
        RESET_CONFIRM, json={"token": email.token, "new_password": "short"}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["new_password"]
    # A refused password does not spend the token.
    ok = await client.post(RESET_CONFIRM, json={"token": email.token, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204


async def test_reset_reveals_nothing_about_accounts(
    client: httpx.AsyncClient, inbox: Inbox, app: FastAPI
) -> None:
    """Same status and body for an account that exists and one that does not; only the
    existing one gets an email. Timings are measured and printed, not asserted."""
    await signed_up(client, "known@example.com")
    await inbox.wait_for("known@example.com")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    answers = set()
    for _ in range(4):
        for kind, address in (("known", "known@example.com"), ("unknown", "nobody@example.com")):
            started = time.perf_counter()
            response = await client.post(RESET, json={"email": address})
            timings[kind].append((time.perf_counter() - started) * 1000)
            answers.add((response.status_code, response.content))
        await app.state.background.drain()
        await inbox.wait_for("known@example.com", subject="reset")
    assert len(answers) == 1 and next(iter(answers))[0] == 202
    assert inbox.to("nobody@example.com") == []
    print(
        "password-reset request (ms, median of 4): "
        + ", ".join(f"{kind} {statistics.median(ms):.2f}" for kind, ms in timings.items())
    )


async def test_email_change_unverifies_and_sends_a_link_to_the_new_address(
    client: httpx.AsyncClient, inbox: Inbox
) -> None:
    tokens = await signed_up(client, "old@example.com")
    first = await inbox.wait_for("old@example.com")
    changed = await client.patch(
        ME, headers=bearer(tokens), json={"email": "New@Example.com", "name": "Nina"}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["email"], body["name"], body["email_verified"]) == (
        "new@example.com",
        "Nina",
        False,
    )
    assert_bad_token(await client.post(VERIFY_CONFIRM, json={"token": first.token}))

    email = await inbox.wait_for("new@example.com", subject="confirm")
    assert (await client.post(VERIFY_CONFIRM, json={"token": email.token})).status_code == 204
    me = (await client.get(ME, headers=bearer(tokens))).json()
    assert (me["email"], me["email_verified"]) == ("new@example.com", True)


async def test_profile_changes_and_conflicts(client: httpx.AsyncClient) -> None:
    await client.post(
        SIGNUP, json={"email": "taken@example.com", "password": PASSWORD, "username": "taken"}
    )
    tokens = await signed_up(client, "pat@example.com")
    for field, value in (("email", "taken@example.com"), ("username", "taken")):
        response = await client.patch(ME, headers=bearer(tokens), json={field: value})
        assert response.status_code == 409, response.text
        assert response.json()["type"] == "urn:todo:problem:duplicate-account"
    renamed = await client.patch(ME, headers=bearer(tokens), json={"username": "pat", "name": None})
    assert renamed.status_code == 200
    assert (renamed.json()["username"], renamed.json()["name"]) == ("pat", None)
    bad = await client.patch(
        ME, headers=bearer(tokens), json={"username": "no spaces", "email": "x"}
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"username", "email"}
    assert (await client.patch(ME, json={"name": "x"})).status_code == 401


async def test_reset_requests_are_throttled(client: httpx.AsyncClient) -> None:
    answers = [
        (await client.post(RESET, json={"email": "flood@example.com"})).status_code
        for _ in range(6)
    ]
    assert answers == [202] * 5 + [429]


async def test_reset_tokens_expire(
    database_url: URL, database: PostgresDatabase, inbox: Inbox
) -> None:
    """The reset lifetime (1 hour by default) on an injected clock."""
    settings = smtp_settings(database_url, inbox)
    clock = FixedClock(datetime.now(UTC))
    app = create_app(build_services(Config.of(settings), database=database, clock=clock), settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        await client.post(SIGNUP, json={"email": "late@example.com", "password": PASSWORD})
        tokens = []
        for _ in range(2):
            await client.post(RESET, json={"email": "late@example.com"})
            tokens.append((await inbox.wait_for("late@example.com", subject="reset")).token)
        clock.advance(timedelta(minutes=59))
        kept = await client.post(
            RESET_CONFIRM, json={"token": tokens[0], "new_password": NEW_PASSWORD}
        )
        assert kept.status_code == 204
        clock.advance(timedelta(minutes=2))
        late = await client.post(RESET_CONFIRM, json={"token": tokens[1], "new_password": PASSWORD})
        assert_bad_token(late)


async def test_a_failed_send_is_logged_not_an_error(
    database_url: URL, database: PostgresDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    async with smtp_server() as closed:
        port = closed.port  # nothing listens there once the block ends
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=port, smtp_tls="none")
    app = create_app(build_services(Config.of(settings), database=database), settings)
    transport = httpx.ASGITransport(app=app)
    caplog.set_level(logging.ERROR, logger="todo.mail")
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        response = await client.post(
            SIGNUP, json={"email": "lost@example.com", "password": PASSWORD}
        )
        assert response.status_code == 201
    assert any("was not sent" in record.getMessage() for record in caplog.records)
    assert all("lost@example.com" not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/reset-password", "/api/v1/auth/password-reset/confirm"),
        ("/verify-email", "/api/v1/auth/verify-email/confirm"),
    ],
)
async def test_the_links_open_pages_that_post_the_token(
    client: httpx.AsyncClient, path: str, api: str
) -> None:
    """Static pages: the token stays in the address (read by the page's own script); nothing
    from the request is echoed into the HTML."""
    response = await client.get(path, params={"token": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'data-api="{api}"' in response.text
    assert "alert(1)" not in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "connect-src 'self'" in policy
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_bad_reset_tokens_are_throttled(client: httpx.AsyncClient) -> None:
    body = {"token": "y" * 43, "new_password": NEW_PASSWORD}
    answers = [(await client.post(RESET_CONFIRM, json=body)).status_code for _ in range(6)]
    assert answers == [422] * 5 + [429]
