"""Scenario 3: a 3 s cold start (the compute wakes when the first connection after a suspend
arrives) with the default connect timeout: every request waits it out and succeeds. The p99
latency during the wake is printed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import URL

from tests.neon.app import TASKS, percentile, running_app
from tests.neon.rig import postgres
from tests.neon.rig.proxy import ColdStartProxy
from tests.neon.rig.state import RigState

REQUESTS = 50


@pytest.fixture
def proxy(rig: RigState) -> Iterator[ColdStartProxy]:
    # In front of the pooler, as Neon's proxy is in front of the compute that runs PgBouncer.
    with ColdStartProxy(rig.bouncer_port, wake_seconds=3.0) as proxy:
        yield proxy


async def test_requests_wait_out_a_cold_start_and_succeed(
    rig: RigState, proxy: ColdStartProxy, pooled: URL, direct: URL
) -> None:
    through_proxy = pooled.set(port=proxy.port)
    async with running_app(through_proxy, migration_url=direct, pooled=True) as app:
        assert proxy.wakes == 1  # the app's start-up ping woke it the first time
        headers = await app.sign_up()
        proxy.suspend()
        postgres.suspend(rig)

        async def timed_list() -> tuple[int, float]:
            started = time.monotonic()
            response = await app.client.get(TASKS, headers=headers)
            return response.status_code, time.monotonic() - started

        results = await asyncio.gather(*(timed_list() for _ in range(REQUESTS)))

    assert proxy.wakes == 2
    assert [status for status, _ in results] == [200] * REQUESTS
    latencies = [seconds for _, seconds in results]
    print(
        f"\ncold start (3 s): {REQUESTS} requests, p50 {percentile(latencies, 0.5):.2f} s, "
        f"p99 {percentile(latencies, 0.99):.2f} s, max {max(latencies):.2f} s"
    )
