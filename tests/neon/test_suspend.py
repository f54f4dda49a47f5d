"""Scenario 1: the compute suspends between two requests; the second still answers 2xx."""

from __future__ import annotations

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
