"""Fixtures of the fault scenarios: the rig that `nox -s neon` started (found through
`NEON_RIG`; without it every test here is skipped), and the real app on it, driven in-process
through httpx."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from tests.neon.app import RunningApp, running_app
from tests.neon.rig import postgres
from tests.neon.rig.state import RigState
from tests.support.databases import libpq_dsn


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.neon)


@pytest.fixture(scope="session")
def rig() -> RigState:
    path = os.environ.get("NEON_RIG")
    if not path:
        pytest.skip("the Neon rig is not running (run `nox -s neon`)")
    return RigState.load(Path(path))


@pytest.fixture
def direct(rig: RigState, database_url: URL) -> URL:
    """The migrated test database over the direct endpoint (TLS, SCRAM, channel binding)."""
    return rig.direct_url(database=str(database_url.database))


@pytest.fixture
def pooled(rig: RigState, database_url: URL) -> URL:
    """The same database through PgBouncer in transaction mode."""
    return rig.pooled_url(database=str(database_url.database))


Query = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def admin_query(rig: RigState, database_url: URL) -> Query:
    """Run SQL as the superuser on the test database, behind the app's back, on a fresh
    session each time (a restart ends any session kept open)."""
    dsn = libpq_dsn(rig.admin_url().set(database=str(database_url.database)))

    def query(sql: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn, autocommit=True) as connection:
            return connection.execute(sql, params or None).fetchall()

    return query


@pytest.fixture(autouse=True)
def _server_is_up(rig: RigState) -> Iterator[None]:
    # A scenario that stops the server and then fails must not leave the next one without it.
    yield
    if not postgres.is_running(rig):
        postgres.start(rig)


@pytest.fixture
async def pooled_app(pooled: URL, direct: URL) -> AsyncIterator[RunningApp]:
    async with running_app(pooled, migration_url=direct, pooled=True) as app:
        yield app


@pytest.fixture
async def direct_app(direct: URL) -> AsyncIterator[RunningApp]:
    async with running_app(direct, migration_url=direct, pooled=False) as app:
        yield app


@pytest.fixture(params=["direct", "pooled"])
async def endpoint_app(
    request: pytest.FixtureRequest, direct: URL, pooled: URL
) -> AsyncIterator[RunningApp]:
    """The app on each endpoint in turn."""
    through_pooler = request.param == "pooled"
    url = pooled if through_pooler else direct
    async with running_app(url, migration_url=direct, pooled=through_pooler) as app:
        yield app
