"""Sessions and one-time tokens on the PostgreSQL adapter: concurrent uses of one refresh
token, one-time tokens taken once, revocation times kept to the microsecond."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from todo_core import AccountService, AuthenticationFailed, BcryptPasswordHasher, ValidationError
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory
from todo_core.testing import FixedClock, InMemoryEmailSender

NOW = datetime(2026, 11, 25, 12, 0, 0, 250_000, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def outbox() -> InMemoryEmailSender:
    return InMemoryEmailSender()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def accounts(
    database: PostgresDatabase, clock: FixedClock, outbox: InMemoryEmailSender
) -> AccountService:
    return AccountService(
        uow=PostgresUnitOfWorkFactory(database),
        hasher=BcryptPasswordHasher(rounds=4),
        clock=clock,
        mailer=outbox,
    )


async def test_two_concurrent_uses_of_one_refresh_token_end_the_session(
    accounts: AccountService,
) -> None:
    """The row lock serialises them: one rotates, the other finds the token spent and ends
    the family, so neither holder keeps a working refresh token (no grace window)."""
    await accounts.sign_up(email="race@example.com", password=PASSWORD)
    grant = await accounts.log_in(login="race@example.com", password=PASSWORD)
    results = await asyncio.gather(
        *(accounts.refresh(refresh_token=grant.refresh_token) for _ in range(2)),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    assert len(won) == 1
    assert isinstance(
        next(r for r in results if isinstance(r, BaseException)), AuthenticationFailed
    )
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=won[0].refresh_token)


async def test_revocation_time_keeps_microseconds(
    accounts: AccountService, clock: FixedClock
) -> None:
    user = await accounts.sign_up(email="micro@example.com", password=PASSWORD)
    issued = clock.now()
    clock.advance(timedelta(microseconds=1))
    await accounts.change_password(
        actor_id=user.id, current_password=PASSWORD, new_password="another passphrase"
    )
    stored = await accounts.get_user(user_id=user.id)
    assert stored.tokens_valid_after == NOW + timedelta(microseconds=1)
    with pytest.raises(AuthenticationFailed):
        await accounts.get_active_user(user_id=user.id, authenticated_at=issued)
    assert await accounts.get_active_user(user_id=user.id, authenticated_at=clock.now())


async def test_a_verification_token_is_taken_once(
    accounts: AccountService, outbox: InMemoryEmailSender
) -> None:
    await accounts.sign_up(email="once@example.com", password=PASSWORD)
    token = outbox.outbox[-1].text.split("token=")[1].split()[0]
    results = await asyncio.gather(
        *(accounts.verify_email(token=token) for _ in range(3)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, ValidationError) for r in results if isinstance(r, BaseException))
