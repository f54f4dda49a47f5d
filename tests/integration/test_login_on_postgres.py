"""A login on the PostgreSQL adapter: one statement reads the throttle and the user and starts
the session before bcrypt (speculatively); a failure drops that session and records itself in
the throttle in one more statement; nothing is started for an unknown, deactivated or external
account, nor while throttled (and then bcrypt does not run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from todo_api.throttle import LoginThrottle, TooManyAttempts
from todo_core import AccountService, AuthenticationFailed, BcryptPasswordHasher
from todo_core.domain.sessions import new_secret, new_session
from todo_core.postgres import PostgresDatabase, PostgresUnitOfWorkFactory
from todo_core.postgres.throttle import PostgresLoginFailureLog
from todo_core.testing import FixedClock

PASSWORD = "correct horse battery"
EMAIL = "ada@example.com"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


class Watching:
    """bcrypt at cost 4, counting the session rows PostgreSQL holds while each check runs."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine, self._bcrypt = engine, BcryptPasswordHasher(rounds=4)
        self.sessions_during_check: list[int] = []

    async def hash(self, password: str) -> str:
        return await self._bcrypt.hash(password)

    async def verify(self, password: str, password_hash: str) -> bool:
        self.sessions_during_check.append(await _count(self._engine, "sessions"))
        return await self._bcrypt.verify(password, password_hash)


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def _sql(engine: AsyncEngine, statement: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(statement))


@pytest.fixture
def hasher(engine: AsyncEngine) -> Watching:
    return Watching(engine)


@pytest.fixture
def accounts(database: PostgresDatabase, hasher: Watching) -> AccountService:
    return AccountService(
        uow=PostgresUnitOfWorkFactory(database), hasher=hasher, clock=FixedClock(NOW)
    )


@pytest.fixture
def throttle(database: PostgresDatabase) -> LoginThrottle:
    """On the database's own failure log: the login reads and records it in its statements."""
    log = PostgresLoginFailureLog(database)
    return LoginThrottle.per_minute(per_account=2, per_address=100, log=log)


async def _recent(throttle: LoginThrottle) -> dict[str, list[float]]:
    gate = throttle.gate(account=EMAIL, address="203.0.113.7")
    return await throttle.log.recent(list(gate.limits), window=throttle.window)


async def test_a_failed_login_drops_its_speculative_session_and_is_recorded(
    accounts: AccountService, hasher: Watching, throttle: LoginThrottle, engine: AsyncEngine
) -> None:
    await accounts.sign_up(email=EMAIL, password=PASSWORD)
    gate = throttle.gate(account=EMAIL, address="203.0.113.7")
    with pytest.raises(AuthenticationFailed):
        await accounts.log_in(login=EMAIL, password="not the password", gate=gate)
    # Started before bcrypt ran (its token never handed out), gone once the check failed.
    assert hasher.sessions_during_check == [1]
    assert await _count(engine, "sessions") == 0
    assert await _count(engine, "refresh_tokens") == 0
    assert {len(ages) for ages in (await _recent(throttle)).values()} == {1}

    grant = await accounts.log_in(login=EMAIL, password=PASSWORD, gate=gate)
    assert await _count(engine, "sessions") == 1
    address_key = list(gate.limits)[1]
    assert list(await _recent(throttle)) == [address_key]  # the account's failure forgotten
    refreshed = await accounts.refresh(refresh_token=grant.refresh_token)
    assert refreshed.session_id == grant.session_id


async def test_no_session_is_started_for_accounts_that_cannot_log_in(
    accounts: AccountService, hasher: Watching, throttle: LoginThrottle, engine: AsyncEngine
) -> None:
    await accounts.sign_up(email=EMAIL, password=PASSWORD)
    await accounts.sign_up(email="external@example.com", password=PASSWORD)
    await _sql(engine, "UPDATE users SET password_hash = NULL WHERE email LIKE 'external@%'")
    await accounts.sign_up(email="gone@example.com", password=PASSWORD)
    await _sql(engine, "UPDATE users SET is_active = false WHERE email LIKE 'gone@%'")
    for login in ("nobody@example.com", "external@example.com", "gone@example.com", "\x00"):
        with pytest.raises(AuthenticationFailed):
            await accounts.log_in(
                login=login, password=PASSWORD, gate=throttle.gate(account=login, address="a")
            )
    assert hasher.sessions_during_check == [0, 0, 0, 0]  # the decoy hash, every time
    assert await _count(engine, "sessions") == 0


async def test_a_throttled_login_starts_nothing_and_skips_bcrypt(
    accounts: AccountService, hasher: Watching, throttle: LoginThrottle, engine: AsyncEngine
) -> None:
    await accounts.sign_up(email=EMAIL, password=PASSWORD)
    gate = throttle.gate(account=EMAIL, address="203.0.113.7")
    for _ in range(throttle.per_account):
        with pytest.raises(AuthenticationFailed):
            await accounts.log_in(login=EMAIL, password="wrong", gate=gate)
    with pytest.raises(TooManyAttempts) as refused:
        await accounts.log_in(login=EMAIL, password=PASSWORD, gate=gate)
    assert 1 <= refused.value.retry_after <= 60
    assert len(hasher.sessions_during_check) == throttle.per_account  # not for the third
    assert await _count(engine, "sessions") == 0
    # Another account from the same address is not held back by this one's failures.
    await accounts.sign_up(email="grace@example.com", password=PASSWORD)
    other = throttle.gate(account="grace@example.com", address="203.0.113.7")
    assert (await accounts.log_in(login="grace@example.com", password=PASSWORD, gate=other)).user


async def test_a_login_statement_sent_twice_starts_its_session_once(
    database: PostgresDatabase, accounts: AccountService, engine: AsyncEngine
) -> None:
    """What a lost connection's retry does: the same session, started once, reported started."""
    user = await accounts.sign_up(email=EMAIL, password=PASSWORD)
    clock = FixedClock(NOW)
    session = new_session(
        user_id=user.id, user_agent="x", now=clock.now(), lifetime=timedelta(days=1)
    )
    _, token_hash = new_secret()
    uow = PostgresUnitOfWorkFactory(database)
    for _ in range(2):
        async with uow() as work:
            start = await work.tokens.start_login(
                login=EMAIL, session=session, token_hash=token_hash
            )
        assert start.started
        assert start.user is not None
        assert start.user.id == user.id
    assert await _count(engine, "sessions") == 1
    assert await _count(engine, "refresh_tokens") == 1
