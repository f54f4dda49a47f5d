"""`todo db seed`: the documented development data, and a second run changes nothing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import make_settings
from todo_api import db_commands
from todo_api.bootstrap import Config


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT (SELECT count(*) FROM users),"
                    " count(*) FILTER (WHERE completed), count(*) FILTER (WHERE NOT completed)"
                    " FROM tasks"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_seed_is_idempotent(database_url: URL, engine: AsyncEngine) -> None:
    config = Config.of(make_settings(database_url))
    assert await db_commands.seed(config) == 6
    assert await counts(engine) == (1, 3, 2)
    assert await db_commands.seed(config) == 0
    assert await counts(engine) == (1, 3, 2)
    async with engine.connect() as connection:
        priorities = await connection.scalar(text("SELECT count(DISTINCT priority) FROM tasks"))
        tags = await connection.scalar(text("SELECT count(*) FROM tasks WHERE tags <> '{}'"))
    assert priorities == 3
    assert tags >= 3
