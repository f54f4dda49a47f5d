"""The real app, built by the real composition root, on an endpoint of the rig, driven
in-process through httpx (lifespan included: start-up retries and shutdown disposal run)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import count

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from tests.api.conftest import PASSWORD, make_settings
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_database, build_services
from todo_core.postgres.database import PostgresDatabase

TASKS = "/api/v1/users/me/tasks"
_numbers = count()


@dataclass(frozen=True)
class RunningApp:
    client: httpx.AsyncClient
    database: PostgresDatabase

    async def sign_up(self) -> dict[str, str]:
        email = f"neon{next(_numbers)}@example.com"
        body = {"email": email, "password": PASSWORD}
        assert (await self.client.post("/api/v1/auth/signup", json=body)).status_code == 201
        login = await self.client.post(
            "/api/v1/auth/login", data={"username": email, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    async def wait_for_2xx(self, headers: dict[str, str], *, limit: float = 60.0) -> float:
        """Seconds until the list answers 2xx again (polling every 50 ms); fails past `limit`."""
        started = time.monotonic()
        while (await self.client.get(TASKS, headers=headers)).status_code >= 300:
            assert time.monotonic() - started < limit, f"no 2xx within {limit} s"
            await asyncio.sleep(0.05)
        return time.monotonic() - started


@asynccontextmanager
async def running_app(
    url: URL, *, migration_url: URL, pooled: bool, **overrides: object
) -> AsyncIterator[RunningApp]:
    settings = make_settings(
        url,
        migration_database_url=migration_url.render_as_string(hide_password=False),
        db_pooled=pooled,
        **overrides,
    )
    config = Config.of(settings)
    database = build_database(config)
    application = create_app(build_services(config, database=database), settings)
    try:
        async with LifespanManager(application, startup_timeout=60, shutdown_timeout=30):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", timeout=120
            ) as client:
                yield RunningApp(client, database)
    finally:
        await database.dispose()


def is_problem_503(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.headers["content-type"].startswith("application/problem+json")
        and "retry-after" in response.headers
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
