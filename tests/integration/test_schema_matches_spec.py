"""specs/schema.toml = the SQLModel tables = the migrated live database, and every migration
runs down and up again."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from todo_core.postgres import migrate
from todo_core.postgres.introspect import describe_schema
from todo_core.postgres.tables import metadata

SPEC = Path(__file__).parents[2] / "specs" / "schema.toml"


def load_spec() -> dict[str, Any]:
    return tomllib.loads(SPEC.read_text())


async def describe(url: URL) -> dict[str, Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(describe_schema)
    finally:
        await engine.dispose()


async def test_migrated_database_matches_spec(database_url: URL) -> None:
    assert await describe(database_url) == load_spec()


async def test_models_match_spec(scratch_database: URL) -> None:
    engine = create_async_engine(scratch_database, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
    assert await describe(scratch_database) == load_spec()


def _revisions_oldest_first() -> list[str]:
    script = ScriptDirectory(str(migrate.MIGRATIONS))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


async def test_every_migration_goes_down_and_up_again(scratch_database: URL) -> None:
    revisions = _revisions_oldest_first()
    for revision in revisions:
        await migrate.upgrade(scratch_database, revision)
        assert await migrate.current_revision(scratch_database) == revision
        await migrate.downgrade(scratch_database, "-1")
        await migrate.upgrade(scratch_database, revision)
    assert await describe(scratch_database) == load_spec()
    await migrate.downgrade(scratch_database, "base")
    assert await describe(scratch_database) == {"enums": {}, "tables": {}}
    assert await migrate.current_revision(scratch_database) is None


def test_head_revision_is_the_newest_migration() -> None:
    assert migrate.head_revision() == _revisions_oldest_first()[-1]


async def test_two_instances_migrating_at_once_do_not_collide(scratch_database: URL) -> None:
    # Without the advisory lock they deadlock on each other's DDL (seen: hung until killed);
    # the timeout only turns such a hang into a failure.
    async with asyncio.timeout(120):
        await asyncio.gather(*(migrate.upgrade(scratch_database) for _ in range(3)))
    assert await migrate.current_revision(scratch_database) == migrate.head_revision()
    assert await describe(scratch_database) == load_spec()
