"""The `todo db` commands and `todo dev`'s throwaway database: migrations over the direct
endpoint, the tables view and the development seed, on the database the configuration names.

With the composition root, the only module of `todo_api` allowed to import the PostgreSQL
adapter (import-linter checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from todo_api.bootstrap import Config, build_services
from todo_core.postgres import EmbeddedPostgresUnavailableError as EmbeddedPostgresUnavailableError
from todo_core.postgres import embedded_postgres, migrate
from todo_core.seed import seed_development_data

Dropped = migrate.Dropped
describe_dropped = migrate.describe_dropped


async def upgrade(
    config: Config,
    revision: str = "head",
    *,
    lock_wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    await migrate.upgrade(config.migration_url, revision, lock_wait=lock_wait, on_wait=on_wait)


async def downgrade(
    config: Config,
    revision: str,
    *,
    lock_wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    confirm: Callable[[Dropped], bool] | None = None,
) -> None:
    await migrate.downgrade(
        config.migration_url, revision, lock_wait=lock_wait, on_wait=on_wait, confirm=confirm
    )


async def current(config: Config) -> tuple[str | None, str | None]:
    """The database's revision and the newest one shipped."""
    return await migrate.current_revision(config.migration_url), migrate.head_revision()


async def tables(config: Config) -> list[tuple[str, list[tuple[str, str]], int]]:
    return await migrate.tables(config.migration_url)


async def seed(config: Config) -> int:
    """Add the development user and tasks where missing; returns how many rows it added."""
    services = build_services(config, start=False)
    try:
        return await seed_development_data(accounts=services.accounts, tasks=services.tasks)
    finally:
        await services.shutdown()


@contextmanager
def embedded_database() -> Iterator[str]:
    """A throwaway PostgreSQL for `todo dev`; yields its DATABASE_URL."""
    with embedded_postgres() as url:
        yield url.render_as_string(hide_password=False)
