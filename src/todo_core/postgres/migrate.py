"""Run the packaged Alembic migrations under a PostgreSQL advisory lock.

Two instances starting at once must not both migrate: the first takes the lock, the second
waits and then finds nothing to do. A session advisory lock means nothing through a
transaction-mode pooler, so migrations always go over the direct endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from todo_core.postgres.url import direct_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number; it only has to be the same for every instance of this app.
_LOCK_KEY = 0x70D0_5C4E_3A11


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this package."""
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(url: URL, revision: str = "head") -> None:
    await _locked(url, lambda config: command.upgrade(config, revision))


async def downgrade(url: URL, revision: str = "-1") -> None:
    await _locked(url, lambda config: command.downgrade(config, revision))


async def current_revision(url: URL) -> str | None:
    engine = create_async_engine(direct_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(text("SELECT to_regclass('alembic_version')"))
            if exists is None:
                return None
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            return None if revision is None else str(revision)
    finally:
        await engine.dispose()


async def _locked(url: URL, run: Callable[[Config], None]) -> None:
    engine = create_async_engine(direct_url(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            await connection.commit()
            try:
                await connection.run_sync(lambda sync: run(_config(sync)))
                await connection.commit()
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY}
                )
                await connection.commit()
    finally:
        await engine.dispose()
