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
from todo_core.postgres import migrate
from todo_core.postgres.engine import EngineOptions, create_engine


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
async def engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    pooled = os.environ.get("TEST_DB_POOLED") == "1" or None  # the Neon rig's pooler: no `-pooler`
    engine = create_engine(database_url, EngineOptions(pool_size=5, max_overflow=10, pooled=pooled))
    try:
        yield engine
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("TRUNCATE users, tasks CASCADE"))
        await engine.dispose()
