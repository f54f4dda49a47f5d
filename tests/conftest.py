"""Fixtures shared by the integration and API tests. Unit tests request none of them, so they
never start a database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.databases import direct_endpoint, fresh_database, postgres_server
from todo_core.postgres import EngineOptions, PostgresDatabase, migrate


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[URL]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url: URL) -> Iterator[URL]:
    """A database migrated to head, shared by the run; tests leave it empty behind them."""
    with fresh_database(postgres_server_url) as url:
        asyncio.run(migrate.upgrade(direct_endpoint(url)))
        yield url


@pytest.fixture
def scratch_database(postgres_server_url: URL) -> Iterator[URL]:
    """An empty, unmigrated database of the test's own, over the direct endpoint (migrations
    and their session lock need one; through a transaction pooler the lock means nothing)."""
    with fresh_database(postgres_server_url, prefix="todo_scratch") as url:
        yield direct_endpoint(url)


@pytest.fixture
async def database(database_url: URL) -> AsyncIterator[PostgresDatabase]:
    """The adapter on the shared database; the tables are emptied after the test."""
    pooled = os.environ.get("TEST_DB_POOLED") == "1" or None  # the Neon rig's pooler: no `-pooler`
    options = EngineOptions(pool_size=5, max_overflow=10, pooled=pooled)
    database = PostgresDatabase.from_url(database_url, options)
    try:
        yield database
    finally:
        async with database.engine.begin() as connection:
            await connection.execute(text("TRUNCATE users, tasks, login_throttle CASCADE"))
        await database.dispose()


@pytest.fixture
def engine(database: PostgresDatabase) -> AsyncEngine:
    """The adapter's engine, for tests that look at the tables with their own SQL."""
    return database.engine
