"""Scenarios 4 and 5: the app's pool under load. 50 concurrent requests on a pool of 5 + 10 all
succeed; after 1,000 requests no connection is left checked out and the server holds no more
of the app's connections than the pool allows; shutdown closes them all."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy.engine import URL

from tests.neon.app import TASKS, RunningApp, running_app
from tests.neon.conftest import Query

POOL_SIZE, MAX_OVERFLOW = 5, 10
POOL = {"db_pool_size": POOL_SIZE, "db_max_overflow": MAX_OVERFLOW}
MARK = "todo-neon-pool"  # application_name, to find the app's sessions in pg_stat_activity
_SESSIONS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"


async def _concurrently(app: RunningApp, total: int, at_once: int) -> list[httpx.Response]:
    headers = await app.sign_up()
    gate = asyncio.Semaphore(at_once)

    async def one(number: int) -> httpx.Response:
        async with gate:
            if number % 2:
                return await app.client.get(TASKS, headers=headers)
            return await app.client.post(TASKS, json={"title": f"t{number}"}, headers=headers)

    return await asyncio.gather(*(one(number) for number in range(total)))


async def test_fifty_concurrent_requests_on_a_pool_of_five_plus_ten(
    pooled: URL, direct: URL
) -> None:
    async with running_app(pooled, migration_url=direct, pooled=True, **POOL) as app:
        responses = await _concurrently(app, total=50, at_once=50)
        assert app.database.in_use == 0
    assert sorted({r.status_code for r in responses}) == [200, 201]


async def test_a_thousand_requests_leave_no_connection_behind(
    direct: URL, admin_query: Query
) -> None:
    marked = direct.update_query_dict({"application_name": MARK})
    async with running_app(marked, migration_url=direct, pooled=False, **POOL) as app:
        responses = await _concurrently(app, total=1000, at_once=25)
        assert sorted({r.status_code for r in responses}) == [200, 201]
        assert app.database.in_use == 0
        (open_sessions,) = admin_query(_SESSIONS, MARK)[0]
        assert 0 < open_sessions <= POOL_SIZE + MAX_OVERFLOW
    # Leaving the app disposed of its database. A backend leaves
    # pg_stat_activity only once its process has exited, a moment after the client closed:
    # wait for that (bounded), rather than catching it mid-exit.
    assert await _sessions_drained(admin_query) == 0


async def _sessions_drained(admin_query: Query, *, attempts: int = 50) -> int:
    for _ in range(attempts):
        (remaining,) = admin_query(_SESSIONS, MARK)[0]
        if remaining == 0:
            return 0
        await asyncio.sleep(0.1)
    return int(remaining)
