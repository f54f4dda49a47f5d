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
    """The row lock serialises the two spends: one finds the token fresh, the other spent,
    which ends the session. The first may still finish its rotation before that (then its
    new token dies with the session) or lose it; either way neither holder keeps a working
    refresh token (no grace window), and neither sees anything but a 401."""
    await accounts.sign_up(email="race@example.com", password=PASSWORD)
    for _ in range(5):
        grant = await accounts.log_in(login="race@example.com", password=PASSWORD)
        results = await asyncio.gather(
            *(accounts.refresh(refresh_token=grant.refresh_token) for _ in range(2)),
            return_exceptions=True,
        )
        won = [r for r in results if not isinstance(r, BaseException)]
        assert len(won) <= 1
        assert all(isinstance(r, AuthenticationFailed) for r in results if r not in won)
        for grant in won:
            with pytest.raises(AuthenticationFailed):
                await accounts.refresh(refresh_token=grant.refresh_token)


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


async def test_failed_batches_leave_no_stale_prepared_statements(
    accounts: AccountService,
) -> None:
    """A sign-up is one pipelined batch (the user, then their verification token). When the
    user insert fails (a duplicate), the server skips the rest of the batch, including the
    token insert's Parse once the driver prepares it (its fifth run): the driver must not
    believe it prepared. Seen as a 500 ("prepared statement _pg3_N does not exist") in fuzzing."""
    from todo_core import DuplicateAccount

    await accounts.sign_up(email="dup@example.com", password=PASSWORD)
    for _ in range(8):
        with pytest.raises(DuplicateAccount):
            await accounts.sign_up(email="dup@example.com", password=PASSWORD)
    for n in range(8):  # fresh sign-ups reuse the (pooled) connections and their statements
        await accounts.sign_up(email=f"fresh{n}@example.com", password=PASSWORD)
