"""The login throttle's state in PostgreSQL: the same sliding windows as in memory, kept in one
table that every worker and instance shares (times from the database's clock)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from todo_api.throttle import LoginThrottle, TooManyAttempts, account_key
from todo_core.postgres import PostgresDatabase
from todo_core.postgres.throttle import PostgresLoginFailureLog


async def test_failures_are_counted_per_key_newest_first(database: PostgresDatabase) -> None:
    log = PostgresLoginFailureLog(database)
    await log.record(["account:ada", "address:10.0.0.1"], window=60, keep=3)
    await log.record(["account:ada", "address:10.0.0.2"], window=60, keep=3)
    recent = await log.recent(["account:ada", "address:10.0.0.1", "account:bob"], window=60)
    assert set(recent) == {"account:ada", "address:10.0.0.1"}
    assert len(recent["account:ada"]) == 2
    assert recent["account:ada"][0] <= recent["account:ada"][1] < 60  # ages, newest first


async def test_only_the_last_keep_failures_are_kept(database: PostgresDatabase) -> None:
    log = PostgresLoginFailureLog(database)
    for _ in range(5):
        await log.record(["account:spray"], window=60, keep=2)
    assert len((await log.recent(["account:spray"], window=60))["account:spray"]) == 2


async def test_stale_keys_are_purged_by_later_failures(database: PostgresDatabase) -> None:
    log = PostgresLoginFailureLog(database)
    await log.record(["account:old"], window=60, keep=2)
    async with database.engine.begin() as connection:  # as if it failed two minutes ago
        await connection.execute(
            text(
                "UPDATE login_throttle SET failures = ARRAY[now() - interval '2 minutes'],"
                " last_failed_at = now() - interval '2 minutes'"
            )
        )
    assert await log.recent(["account:old"], window=60) == {}
    await log.record(["account:new"], window=60, keep=2)
    async with database.engine.connect() as connection:
        keys = (await connection.execute(text("SELECT key FROM login_throttle"))).scalars().all()
    assert keys == ["account:new"]


async def test_a_success_clears_only_its_account(database: PostgresDatabase) -> None:
    log = PostgresLoginFailureLog(database)
    throttle = LoginThrottle.per_minute(per_account=3, per_address=10, log=log)
    await throttle.failed(await throttle.check(account="Lin@x.io", address="10.0.0.9"))
    attempt = await throttle.check(account="lin@x.io ", address="10.0.0.9")
    assert attempt.account_had_failures
    await throttle.succeeded(attempt)
    keys = [f"login:{account_key('lin@x.io')}", "login:address:10.0.0.9"]
    assert set(await log.recent(keys, window=60)) == {"login:address:10.0.0.9"}


async def test_concurrent_failures_all_count(database: PostgresDatabase) -> None:
    """Two processes failing at once on one key: each failure lands (the upsert locks the row)."""
    first, second = PostgresLoginFailureLog(database), PostgresLoginFailureLog(database)
    throttle = LoginThrottle.per_minute(per_account=8, per_address=100, log=first)
    other = LoginThrottle.per_minute(per_account=8, per_address=100, log=second)
    attempt = await throttle.check(account="victim", address="10.0.0.1")
    await asyncio.gather(*(t.failed(attempt) for t in [throttle, other] * 4))
    with pytest.raises(TooManyAttempts) as blocked:
        await other.check(account="victim", address="10.0.0.2")
    assert 58 <= blocked.value.retry_after <= 60
