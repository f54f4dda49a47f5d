"""Scenario 2: 200 concurrent creates while the server restarts mid-way. Every create that got
a 201 is stored, every failure is a 503 problem, and the service answers 2xx again on its own
(the recovery time is printed)."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict

import httpx

from tests.neon.app import TASKS, RunningApp, is_problem_503
from tests.neon.conftest import Query
from tests.neon.rig import faults
from tests.neon.rig.state import RigState

CREATES = 200
RESTART_AFTER = 20  # responses: the restart lands among requests still in flight


async def test_creates_across_a_restart_are_stored_or_refused_with_503(
    rig: RigState, pooled_app: RunningApp, admin_query: Query
) -> None:
    headers = await pooled_app.sign_up()
    answered = 0
    took: defaultdict[int, list[float]] = defaultdict(list)
    restart_due = asyncio.Event()

    async def create(number: int) -> httpx.Response:
        nonlocal answered
        started = time.monotonic()
        response = await pooled_app.client.post(
            TASKS, json={"title": f"task {number}"}, headers=headers
        )
        took[response.status_code].append(time.monotonic() - started)
        answered += 1
        if answered == RESTART_AFTER:
            restart_due.set()
        return response

    async def restart() -> tuple[int, float, float]:
        await restart_due.wait()
        in_flight_then = CREATES - answered
        began = time.monotonic()
        await asyncio.to_thread(faults.restart, rig)
        return in_flight_then, began, time.monotonic()

    restarting = asyncio.create_task(restart())
    responses = await asyncio.gather(*(create(number) for number in range(CREATES)))
    in_flight, began, server_back = await restarting
    recovery = await pooled_app.wait_for_2xx(headers)

    assert in_flight > 0
    created = [r.json()["id"] for r in responses if r.status_code == 201]
    failures = [r for r in responses if r.status_code != 201]
    assert all(is_problem_503(r) for r in failures), {r.status_code for r in failures}
    stored = admin_query("SELECT id::text FROM tasks WHERE id::text = ANY(%s)", created)
    assert {row[0] for row in stored} == set(created)
    print(
        f"\nrestart: {len(created)} created, {len(failures)} refused with 503; "
        f"server back {server_back - began:.2f} s after the restart began; "
        f"service 2xx again {recovery:.2f} s after that "
        f"({time.monotonic() - began - (time.monotonic() - server_back - recovery):.2f} s "
        "after the restart began); slowest 503 took "
        f"{max(took[503], default=0):.2f} s, slowest 201 {max(took[201]):.2f} s"
    )
