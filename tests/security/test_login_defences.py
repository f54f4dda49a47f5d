"""Login defences: throttled failures per account and per address (429 + Retry-After) that
always lift, one answer for unknown users and wrong passwords, the password policy."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from tests.api.conftest import PASSWORD
from tests.security.conftest import FakeMonotonic, assert_problem
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.settings import Settings
from todo_api.throttle import (
    LoginAttempt,
    LoginThrottle,
    MemoryLoginFailureLog,
    TooManyAttempts,
    account_key,
)
from todo_core.postgres import PostgresDatabase

LOGIN, SIGNUP = "/api/v1/auth/login", "/api/v1/auth/signup"
PER_ACCOUNT, PER_ADDRESS = 3, 5


@pytest.fixture
def clock() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
async def guarded(
    settings: Settings, database: PostgresDatabase, clock: FakeMonotonic
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with a small throttle on a clock the test moves."""
    throttle = LoginThrottle.per_minute(
        per_account=PER_ACCOUNT, per_address=PER_ADDRESS, clock=clock
    )
    services = build_services(Config.of(settings), database=database)
    app = create_app(services, settings, login_throttle=throttle)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def _sign_up(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(SIGNUP, json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text


async def _log_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    return await client.post(LOGIN, data={"username": login, "password": password})


async def test_failures_per_account_get_429_with_retry_after_then_lift(
    guarded: httpx.AsyncClient, clock: FakeMonotonic
) -> None:
    await _sign_up(guarded, "ada@example.com")
    for _ in range(PER_ACCOUNT):
        assert (await _log_in(guarded, "ada@example.com", "wrong password")).status_code == 401
        clock.advance(1)
    # Throttled now, even with the right password, however the login is spelled.
    blocked = await _log_in(guarded, " ADA@example.com", PASSWORD)
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) == 57  # when the first failure leaves the window
    clock.advance(56)
    assert_problem(await _log_in(guarded, "ada@example.com", PASSWORD), 429)
    clock.advance(1)  # never a permanent lockout: the window slides past the failures
    assert (await _log_in(guarded, "ada@example.com", PASSWORD)).status_code == 200


async def test_failures_per_address_throttle_every_account_from_it(
    guarded: httpx.AsyncClient, clock: FakeMonotonic
) -> None:
    await _sign_up(guarded, "grace@example.com")
    for number in range(PER_ADDRESS):  # password spraying: one try on many accounts
        assert (await _log_in(guarded, f"user{number}@example.com", "guess")).status_code == 401
    blocked = await _log_in(guarded, "grace@example.com", PASSWORD)
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) == 60
    clock.advance(60)
    assert (await _log_in(guarded, "grace@example.com", PASSWORD)).status_code == 200


async def test_unknown_users_are_throttled_exactly_like_known_ones(
    guarded: httpx.AsyncClient,
) -> None:
    await _sign_up(guarded, "known@example.com")
    answers = []
    for login in ("known@example.com", "unknown@example.com"):
        for _ in range(PER_ACCOUNT):
            await _log_in(guarded, login, "wrong password")
        answers.append(await _log_in(guarded, login, "wrong password"))
        # (the address window holds 5, so the second account's 4th try is refused by it too)
    assert [answer.status_code for answer in answers] == [429, 429]
    assert answers[0].json()["type"] == answers[1].json()["type"]


async def test_a_success_clears_the_account_failures(
    guarded: httpx.AsyncClient, clock: FakeMonotonic
) -> None:
    await _sign_up(guarded, "lin@example.com")
    for _ in range(PER_ACCOUNT - 1):
        await _log_in(guarded, "lin@example.com", "typo")
    assert (await _log_in(guarded, "lin@example.com", PASSWORD)).status_code == 200
    clock.advance(61)  # let the address window forget too
    for _ in range(PER_ACCOUNT - 1):
        assert (await _log_in(guarded, "lin@example.com", "typo")).status_code == 401


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient,
) -> None:
    await _sign_up(client, "real@example.com")
    wrong = await _log_in(client, "real@example.com", "not the password")
    unknown = await _log_in(client, "nobody@example.com", "not the password")
    by_username = await _log_in(client, "nobody", "not the password")
    for response in (wrong, unknown, by_username):
        assert_problem(response, 401)
        # the same bytes but for the request's own id
        assert _without_request_id(response) == _without_request_id(wrong)
        assert response.headers["www-authenticate"] == wrong.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("password", "status"),
    [("short7!", 422), ("exactly8", 201), ("é" * 37, 422), ("x" * 129, 422), ("", 422)],
)
async def test_password_policy_eight_characters_and_72_bytes(
    client: httpx.AsyncClient, password: str, status: int
) -> None:
    response = await client.post(SIGNUP, json={"email": "p@example.com", "password": password})
    assert response.status_code == status, response.text
    if status == 422:
        fields = {e["field"].rsplit(".", 1)[-1] for e in assert_problem(response)["errors"]}
        assert fields == {"password"}
        assert password not in response.text or not password


async def test_the_memory_log_is_bounded() -> None:
    clock = FakeMonotonic()
    log = MemoryLoginFailureLog(clock=clock, max_keys=100)
    for number in range(1_000):
        await log.record([f"spray{number}"], window=60, keep=2)
    assert len(log._failures) == 100  # the least recently failed keys went first
    assert await log.recent(["spray999", "spray0"], window=60) == {"spray999": [0.0]}


async def test_the_throttle_never_blocks_for_longer_than_the_window() -> None:
    clock = FakeMonotonic()
    throttle = LoginThrottle.per_minute(per_account=2, per_address=100, clock=clock)
    for _ in range(50):  # an attacker keeps failing as fast as allowed...
        await throttle.failed(await _attempt(throttle, "victim", "10.0.0.1"))
    with pytest.raises(TooManyAttempts) as blocked:
        await throttle.check(account="victim", address="10.0.0.2")
    assert blocked.value.retry_after == 60
    clock.advance(60)  # ...yet a minute after the last failure the account is free again
    await throttle.check(account="victim", address="10.0.0.2")


async def _attempt(throttle: LoginThrottle, account: str, address: str) -> LoginAttempt:
    try:
        return await throttle.check(account=account, address=address)
    except TooManyAttempts:
        return LoginAttempt(f"login:{account_key(account)}", f"login:address:{address}", True)


def _without_request_id(response: httpx.Response) -> bytes:
    return response.content.replace(response.headers["x-request-id"].encode(), b"")
