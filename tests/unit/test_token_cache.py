"""Our own verified tokens are remembered by their exact text until they expire: the same
token is decoded once, an expired one is refused even when remembered, nothing else is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from todo_api import tokens
from todo_api.tokens import TokenService
from todo_core import AuthenticationFailed
from todo_core.testing import FixedClock

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


def make_service(lifetime: timedelta = timedelta(minutes=5)) -> TokenService:
    clock = FixedClock(datetime.now(UTC))
    return TokenService(secret=SECRET, lifetime=lifetime, issuer="todo", clock=clock)


class CountingDecode:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = jwt.decode

        def decode(*args: object, **kwargs: object) -> object:
            self.calls += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(tokens.jwt, "decode", decode)


async def test_the_same_token_is_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    service, user = make_service(), uuid4()
    token = service.issue(user_id=user, session_id=uuid4()).access_token
    counting = CountingDecode(monkeypatch)
    first = await service.verify(token)
    again = await service.verify(token)
    assert again == first
    assert first.subject == user
    assert counting.calls == 1


async def test_a_remembered_token_is_not_served_past_its_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    service = make_service(lifetime=timedelta(minutes=5))
    token = service.issue(user_id=uuid4()).access_token
    await service.verify(token)
    counting = CountingDecode(monkeypatch)
    later = datetime.now(UTC) + timedelta(minutes=6)
    monkeypatch.setattr(tokens.time, "time", later.timestamp)
    await service.verify(token)  # PyJWT's own clock still says valid: it decides again
    assert counting.calls == 1


async def test_an_expired_token_is_refused_although_it_was_remembered() -> None:
    service = make_service(lifetime=timedelta(seconds=1))
    token = service.issue(user_id=uuid4()).access_token
    await service.verify(token)
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - datetime.now(UTC).timestamp()) + 0.05)  # it expires
    with pytest.raises(AuthenticationFailed):
        await service.verify(token)


async def test_a_tampered_copy_of_a_remembered_token_is_refused() -> None:
    service = make_service()
    token = service.issue(user_id=uuid4()).access_token
    await service.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(AuthenticationFailed):
        await service.verify(f"{header}.{payload}.{flipped}")


async def test_a_refused_token_is_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    other = TokenService(
        secret="another-secret-that-is-long-enough-0123456789",
        lifetime=timedelta(minutes=5),
        issuer="todo",
        clock=FixedClock(datetime.now(UTC)),
    )
    service = make_service()
    foreign = other.issue(user_id=uuid4()).access_token
    counting = CountingDecode(monkeypatch)
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            await service.verify(foreign)
    assert counting.calls == 2


async def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_VERIFIED_CACHE_SIZE", 3)
    service = make_service()
    issued = [service.issue(user_id=uuid4()).access_token for _ in range(5)]
    for token in issued:
        await service.verify(token)
    counting = CountingDecode(monkeypatch)
    await service.verify(issued[-1])  # among the newest three: remembered
    assert counting.calls == 0
    await service.verify(issued[0])  # the oldest went first: decoded again
    assert counting.calls == 1
