"""Correct under contention: a PATCH without If-Match is last-writer-wins (never 412); a hot
row's lock waits are bounded by `lock_timeout` (503 `busy` with Retry-After) instead of
holding the pool; a request waiting for a pool slot is "busy", not a dead database, and
/health says so. Real concurrent requests against real PostgreSQL row locks."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import psycopg
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from tests.api.conftest import SignUp, make_settings
from tests.support.databases import libpq_dsn
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services, engine_options
from todo_core.postgres import PostgresDatabase

TASKS = "/api/v1/users/me/tasks"


async def test_concurrent_patches_without_if_match_all_apply(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    task = (await client.post(TASKS, json={"title": "hot"}, headers=auth)).json()
    edits = await asyncio.gather(
        *(
            client.patch(f"{TASKS}/{task['id']}", json={"title": f"edit {n}"}, headers=auth)
            for n in range(20)
        )
    )
    assert Counter(answer.status_code for answer in edits) == {200: 20}
    final = (await client.get(f"{TASKS}/{task['id']}", headers=auth)).json()
    assert final["version"] == 21  # each edit applied, one after the other
    assert final["title"] in {f"edit {n}" for n in range(20)}


async def test_a_stale_if_match_is_still_412(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    auth = await sign_up()
    created = await client.post(TASKS, json={"title": "t"}, headers=auth)
    url, etag = f"{TASKS}/{created.json()['id']}", created.headers["etag"]
    assert (await client.patch(url, json={"title": "u"}, headers=auth)).status_code == 200
    stale = await client.patch(url, json={"title": "v"}, headers={**auth, "If-Match": etag})
    assert stale.status_code == 412


@asynccontextmanager
async def app_on_a_pool_of_3(database_url: URL, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app on its own pool of 3 connections, the run's other engine settings kept (DB_POOLED
    in the Neon rig's pooled pass: PgBouncer refuses startup options)."""
    settings = make_settings(database_url)
    chosen = replace(
        engine_options(settings), pool_size=3, max_overflow=0, connect_timeout=3, **options
    )
    own = PostgresDatabase.from_url(database_url, chosen)
    app = create_app(build_services(Config.of(settings), database=own), settings)
    try:
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client
    finally:
        await own.dispose()


@pytest.fixture
async def small(database_url: URL, database: PostgresDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """A 300 ms lock timeout (`database` empties the tables)."""
    async with app_on_a_pool_of_3(database_url, lock_timeout_ms=300) as client:
        yield client


async def sign_up_on(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    password = "correct horse battery"
    await client.post("/api/v1/auth/signup", json={"email": email, "password": password})
    login = await client.post("/api/v1/auth/login", data={"username": email, "password": password})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


class RowLock:
    """Another session holding a task's row lock until released."""

    def __init__(self, url: URL) -> None:
        self._url = url

    async def hold(self, task_id: str) -> None:
        self._connection = await psycopg.AsyncConnection.connect(libpq_dsn(self._url))
        await self._connection.execute("SELECT 1 FROM tasks WHERE id = %s FOR UPDATE", (task_id,))

    async def wait_for_waiters(self, count: int) -> None:
        """Until `count` other sessions wait for a lock (10 s at most): the first waiter for a
        row waits for this session, the others for the first (the row's tuple lock)."""
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database() AND pid <> %s"
        )
        # autocommit: inside one transaction pg_stat_activity would show the same snapshot
        dsn = libpq_dsn(self._url)
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as probe:
            for _ in range(200):
                found = await probe.execute(query, (self._connection.info.backend_pid,))
                row = await found.fetchone()
                if row is not None and row[0] >= count:
                    return
                await asyncio.sleep(0.05)
        raise AssertionError(f"{count} sessions never came to wait for the lock")

    async def release(self) -> None:
        await self._connection.rollback()
        await self._connection.close()


async def test_a_held_row_lock_answers_busy_and_starves_nobody(
    small: httpx.AsyncClient, database_url: URL
) -> None:
    alice, bob = await sign_up_on(small, "alice@example.com"), await sign_up_on(small, "b@x.io")
    task = (await small.post(TASKS, json={"title": "hot"}, headers=alice)).json()
    await small.post(TASKS, json={"title": "bob's"}, headers=bob)
    lock = RowLock(database_url)
    await lock.hold(task["id"])
    try:
        patches = await asyncio.gather(
            *(
                small.patch(f"{TASKS}/{task['id']}", json={"title": "x"}, headers=alice)
                for _ in range(20)
            ),
            *(small.get(TASKS, headers=bob) for _ in range(5)),
            small.get("/health"),
        )
    finally:
        await lock.release()
    edits, gets, health = patches[:20], patches[20:25], patches[25]
    for answer in edits:
        assert answer.status_code == 503, answer.text
        assert answer.json()["type"] == "urn:todo:problem:busy"
        assert answer.headers["retry-after"]
    assert [g.status_code for g in gets] == [200] * 5
    assert health.status_code == 200
    assert health.json()["database"] in ("connected", "busy")
    after = await small.patch(f"{TASKS}/{task['id']}", json={"title": "y"}, headers=alice)
    assert after.status_code == 200  # and the circuit never opened: the database was fine


@pytest.fixture
async def tiny(database_url: URL, database: PostgresDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """Lock waits that outlast a 0.5 s wait for a free connection."""
    async with app_on_a_pool_of_3(database_url, lock_timeout_ms=5_000, pool_timeout=0.5) as client:
        yield client


async def test_a_full_pool_is_busy_not_a_dead_database(
    tiny: httpx.AsyncClient, database_url: URL
) -> None:
    alice, bob = await sign_up_on(tiny, "alice@example.com"), await sign_up_on(tiny, "b@x.io")
    task = (await tiny.post(TASKS, json={"title": "hot"}, headers=alice)).json()
    lock = RowLock(database_url)
    await lock.hold(task["id"])
    try:
        waiting = [
            asyncio.ensure_future(
                tiny.patch(f"{TASKS}/{task['id']}", json={"title": "x"}, headers=alice)
            )
            for _ in range(3)
        ]
        await lock.wait_for_waiters(3)  # all 3 pooled connections are waiting on it
        health = await tiny.get("/health")
        starved = await tiny.get(TASKS, headers=bob)
    finally:
        await lock.release()
    assert [(await edit).status_code for edit in waiting] == [200, 200, 200]
    assert health.status_code == 200
    assert health.json()["database"] == "busy"
    assert starved.status_code == 503
    assert starved.json()["type"] == "urn:todo:problem:busy"
    assert (await tiny.get(TASKS, headers=bob)).status_code == 200  # no circuit was tripped
