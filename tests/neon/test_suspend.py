"""Scenario 1: the compute suspends between two requests; the second still answers 2xx.

The pool checks a connection before use without a round trip (a session the server ended has
left something on its socket) and pings only connections idle for `DB_PING_AFTER_IDLE`: both
ways of finding a suspended compute are exercised here, with reads and with writes (which are
never sent twice, so they must not meet a dead connection in the first place)."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import URL

from tests.neon.app import TASKS, RunningApp, running_app
from tests.neon.rig import faults
from tests.neon.rig.state import RigState


async def test_a_request_after_a_suspend_succeeds(rig: RigState, endpoint_app: RunningApp) -> None:
    app = endpoint_app
    headers = await app.sign_up()
    created = await app.client.post(TASKS, json={"title": "before"}, headers=headers)
    assert created.status_code == 201

    assert faults.suspend(rig) > 0  # the app's idle connections were among the victims

    listed = await app.client.get(TASKS, headers=headers)
    assert listed.status_code == 200, listed.text
    assert [task["title"] for task in listed.json()["items"]] == ["before"]


async def test_a_connection_cut_before_its_first_statement_is_replaced(
    rig: RigState, pooled: URL, direct: URL
) -> None:
    # Without pre-ping the pool hands out the dead connection; the first statement of the unit
    # of work (SET LOCAL through the pooler) fails, and the one transparent retry takes over.
    async with running_app(
        pooled, migration_url=direct, pooled=True, db_pool_pre_ping=False
    ) as app:
        headers = await app.sign_up()
        assert faults.suspend(rig) > 0
        listed = await app.client.get(TASKS, headers=headers)
        assert listed.status_code == 200, listed.text


async def test_a_suspend_between_two_requests_a_moment_apart(
    rig: RigState, endpoint_app: RunningApp
) -> None:
    # The connection was used a moment ago, far below the ping threshold: no ping, yet the
    # writes right after the suspend (which are never retried) must find a live connection.
    app = endpoint_app
    headers = await app.sign_up()
    first = await app.client.post(TASKS, json={"title": "first"}, headers=headers)
    assert first.status_code == 201, first.text
    assert faults.suspend(rig) > 0
    second = await app.client.post(TASKS, json={"title": "second"}, headers=headers)
    assert second.status_code == 201, second.text
    assert faults.suspend(rig) > 0
    gone = await app.client.delete(f"{TASKS}/{first.json()['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    listed = await app.client.get(TASKS, headers=headers)
    assert [task["title"] for task in listed.json()["items"]] == ["second"]


async def test_a_suspend_after_the_connection_idled_past_the_ping_threshold(
    rig: RigState, pooled: URL, direct: URL
) -> None:
    for url, through_pooler in ((direct, False), (pooled, True)):
        async with running_app(
            url, migration_url=direct, pooled=through_pooler, db_ping_after_idle=0.2
        ) as app:
            headers = await app.sign_up()
            await asyncio.sleep(0.5)  # idle past the threshold: the next checkout pings
            assert faults.suspend(rig) > 0
            created = await app.client.post(TASKS, json={"title": "after"}, headers=headers)
            assert created.status_code == 201, created.text
            await asyncio.sleep(0.5)
            assert faults.suspend(rig) > 0
            listed = await app.client.get(TASKS, headers=headers)
            assert listed.status_code == 200, listed.text
            assert [task["title"] for task in listed.json()["items"]] == ["after"]
