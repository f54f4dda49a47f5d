"""Connections kept warm between units of work (`todo_core.postgres.warm`): the next unit of
work takes the last one given back, without the pool, but only as the pool itself would hand
it out: never one the server ended, never one idle past the ping threshold unpinged, never
one left in a transaction; and every connection still goes back to the pool now and then."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from todo_core.postgres import EngineOptions, PostgresDatabase, PostgresUnitOfWorkFactory

THRESHOLD = 0.3  # seconds: the ping threshold, short so a test can idle past it
POOLED = os.environ.get("TEST_DB_POOLED") == "1"  # the Neon rig's pooler (see tests/conftest)


def _options(**given: Any) -> EngineOptions:
    return EngineOptions(pooled=POOLED or None, **given)


@pytest.fixture
async def warm_database(database_url: URL) -> AsyncIterator[PostgresDatabase]:
    options = _options(pool_size=5, max_overflow=10, ping_after_idle=THRESHOLD)
    database = PostgresDatabase.from_url(database_url, options)
    try:
        yield database
    finally:
        await database.dispose()


async def _backend_pid(database: PostgresDatabase) -> int:
    """One unit of work's round trip; the PostgreSQL backend that served it."""
    async with PostgresUnitOfWorkFactory(database)() as work:
        assert await work.users.get(uuid4()) is None
        link = work._link  # the connection it used
        assert link is not None
        return int(link.connection.info.backend_pid)


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Callable[[], int]:
    calls = 0
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return lambda: calls


async def test_the_next_unit_of_work_takes_the_connection_just_given_back(
    warm_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = warm_database
    first = await _backend_pid(database)
    assert (database.in_use, database.warm.count) == (0, 1)
    checkouts = _count_calls(monkeypatch, database.engine.sync_engine, "raw_connection")
    assert [await _backend_pid(database) for _ in range(5)] == [first] * 5
    assert checkouts() == 0  # the pool was not asked
    assert (database.in_use, database.warm.count) == (0, 1)


@pytest.mark.skipif(POOLED, reason="a pooler keeps the client's session when a server's ends")
async def test_a_connection_the_server_ended_while_warm_is_never_handed_out(
    warm_database: PostgresDatabase, database_url: URL
) -> None:
    database = warm_database
    ended = await _backend_pid(database)
    async with await psycopg.AsyncConnection.connect(
        database_url.set(drivername="postgresql").render_as_string(hide_password=False),
        autocommit=True,
    ) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", [ended])  # as Neon's suspend
        for _ in range(100):  # until its backend has gone (and told the client)
            found = await admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [ended])
            if await found.fetchone() is None:
                break
            await asyncio.sleep(0.02)
    # Checked out directly: a unit of work's read would hide it (a read that finds its
    # connection dead is tried again on a fresh one; a write is not).
    await database.enter()
    try:
        pooled = await database.check_out()
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        assert driver.info.backend_pid != ended
        assert (await (await driver.execute("SELECT 1")).fetchone()) == (1,)
        await database.give_back(pooled)
    finally:
        database.leave()
    assert (database.in_use, database.warm.count) == (0, 1)


async def test_one_idle_past_the_threshold_goes_back_to_the_pool_and_is_pinged(
    warm_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = warm_database
    first = await _backend_pid(database)
    pings = _count_calls(monkeypatch, database.engine.dialect, "do_ping")
    assert await _backend_pid(database) == first
    assert pings() == 0  # used a moment ago: no ping
    await asyncio.sleep(THRESHOLD * 2)
    assert await _backend_pid(database) == first  # the same session, through the pool
    assert pings() == 1  # its idle time went back with it, so the pool pinged it


async def test_a_connection_goes_back_to_the_pool_after_the_threshold_even_when_busy(
    warm_database: PostgresDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = warm_database
    checkouts = _count_calls(monkeypatch, database.engine.sync_engine, "raw_connection")
    pids = []
    deadline = asyncio.get_running_loop().time() + THRESHOLD * 3
    while asyncio.get_running_loop().time() < deadline:  # never idle for long
        pids.append(await _backend_pid(database))
        await asyncio.sleep(THRESHOLD / 10)
    assert len(set(pids)) == 1  # the same session all along (nothing opened)
    # through the pool's checkout about every THRESHOLD seconds, not once per unit of work
    assert len(pids) >= 10
    assert 2 <= checkouts() <= 5


async def test_one_left_in_a_transaction_is_not_kept(warm_database: PostgresDatabase) -> None:
    database = warm_database
    await database.enter()
    try:
        pooled = await database.check_out()
        driver = pooled.driver_connection
        assert isinstance(driver, psycopg.AsyncConnection)
        await driver.execute("BEGIN")
        await database.give_back(pooled)
    finally:
        database.leave()
    assert (database.in_use, database.warm.count) == (0, 0)
    async with database.engine.connect() as connection:  # the pool rolled it back
        assert await connection.scalar(text("SELECT 1")) == 1


async def test_disposing_gives_every_warm_connection_back(database_url: URL) -> None:
    database = PostgresDatabase.from_url(database_url, _options(pool_size=3))
    factory = PostgresUnitOfWorkFactory(database)

    async def read() -> None:
        async with factory() as work:
            await work.users.get(uuid4())
            await asyncio.sleep(0.05)  # so the three overlap

    await asyncio.gather(read(), read(), read())
    assert database.warm.count == 3
    await database.dispose()
    assert database.warm.count == 0
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
