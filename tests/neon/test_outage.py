"""While the database is down, requests answer 503 problem+json (not 500, not a hang) and the
app recovers on its own when it returns; production start-up retries five times with backoff
and logs each attempt; development fails at once."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from sqlalchemy.engine import URL

from tests.api.conftest import make_settings
from tests.neon.app import TASKS, RunningApp, is_problem_503
from tests.neon.rig import faults
from tests.neon.rig.state import RigState
from tests.neon.rig.system import free_port
from todo_api.bootstrap import Config, build_services
from todo_core.errors import StorageUnavailable

DOWN_REQUESTS = 10
HANG_GUARD = 60.0  # seconds: far beyond any bound the app sets, so only a real hang trips it


async def test_requests_answer_503_while_down_and_recover(
    rig: RigState, endpoint_app: RunningApp
) -> None:
    headers = await endpoint_app.sign_up()
    faults.stop(rig)
    latencies = []
    for _ in range(DOWN_REQUESTS):
        started = time.monotonic()
        async with asyncio.timeout(HANG_GUARD):
            response = await endpoint_app.client.get(TASKS, headers=headers)
        latencies.append(time.monotonic() - started)
        assert is_problem_503(response), (response.status_code, response.text)
    faults.start(rig)
    recovery = await endpoint_app.wait_for_2xx(headers)
    print(
        f"\noutage: first 503 after {latencies[0]:.2f} s, the next {DOWN_REQUESTS - 1} "
        f"within {max(latencies[1:]):.2f} s each; 2xx again {recovery:.2f} s after the start"
    )


def _start_up_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "todo.database"]


async def test_production_start_retries_until_the_database_returns(
    rig: RigState, direct: URL, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="todo.database")
    services = build_services(Config.of(make_settings(direct, environment="production")))
    faults.stop(rig)
    threading.Timer(2.0, faults.start, args=[rig]).start()  # back during the backoff
    try:
        await services.startup()
    finally:
        await services.shutdown()
    messages = _start_up_logs(caplog)
    assert any("(attempt 1 of 5)" in message for message in messages)
    assert messages[-1].endswith("reachable")
    print(f"\nproduction start: {len(messages) - 1} failed attempt(s) logged, then reachable")


@pytest.mark.parametrize(("environment", "attempts"), [("production", 5), ("development", 1)])
async def test_start_gives_up_after_its_attempts(
    direct: URL, caplog: pytest.LogCaptureFixture, environment: str, attempts: int
) -> None:
    nowhere = direct.set(port=free_port())
    services = build_services(Config.of(make_settings(nowhere, environment=environment)))
    try:
        with pytest.raises(StorageUnavailable):
            await services.startup()
    finally:
        await services.shutdown()
    expected = [f"(attempt {n} of {attempts})" for n in range(1, attempts + 1)]
    assert [m[m.index("(attempt") :].split(":")[0] for m in _start_up_logs(caplog)] == expected
