"""The composition root: the one place that builds settings, engine, adapter and services and
hands them to `create_app`. Nothing connects at import time.

It is also the only module of `todo_api` allowed to import the PostgreSQL adapter
(import-linter checks it), so the CLI's database commands come through here as well.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.engine import URL

from todo_api.app import create_app
from todo_api.container import Services
from todo_api.settings import Settings
from todo_api.tokens import ExternalIssuer, TokenService
from todo_core import AccountService, BcryptPasswordHasher, SystemClock, TaskService, TodoError
from todo_core.postgres import PostgresDatabase, migrate
from todo_core.postgres.embedded import embedded_postgres
from todo_core.postgres.engine import EngineOptions
from todo_core.postgres.health import PostgresHealthProbe
from todo_core.postgres.introspect import table_overview
from todo_core.postgres.startup import wait_for_database
from todo_core.postgres.unit_of_work import PostgresUnitOfWorkFactory
from todo_core.postgres.url import DatabaseUrlError, direct_url, masked, normalize_database_url
from todo_core.seed import seed_development_data

log = logging.getLogger("todo")

__all__ = [
    "DatabaseUrlError",
    "TodoError",
    "app_from_environment",
    "build_services",
    "load_settings",
]


@dataclass(frozen=True)
class DatabaseTarget:
    url: URL  # the app's URL (pooled on Neon)
    migration_url: URL  # direct endpoint: migrations and their lock need a real session

    @property
    def shown(self) -> str:
        return masked(self.url)


def load_settings() -> Settings:
    settings = Settings()
    settings.check()
    database_target(settings)  # a missing or malformed DATABASE_URL stops here
    return settings


def database_target(settings: Settings) -> DatabaseTarget:
    raw = settings.database_url.get_secret_value() if settings.database_url else None
    url = normalize_database_url(raw)
    if settings.migration_database_url:
        migration = normalize_database_url(
            settings.migration_database_url.get_secret_value(), name="MIGRATION_DATABASE_URL"
        )
    else:
        migration = direct_url(url)
    return DatabaseTarget(url, migration)


def build_database(settings: Settings, url: URL) -> PostgresDatabase:
    options = EngineOptions(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=settings.db_pool_pre_ping,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        pooled=settings.db_pooled,
        echo=settings.db_echo,
    )
    return PostgresDatabase.from_url(url, options)


def build_services(settings: Settings, *, database: PostgresDatabase | None = None) -> Services:
    target = database_target(settings)
    database = database or build_database(settings, target.url)
    clock = SystemClock()
    uow = PostgresUnitOfWorkFactory(database)
    return Services(
        accounts=AccountService(
            uow=uow, hasher=BcryptPasswordHasher(rounds=settings.password_hash_rounds), clock=clock
        ),
        tasks=TaskService(uow=uow, clock=clock),
        health=PostgresHealthProbe(database, head=migrate.head_revision()),
        tokens=_token_service(settings, clock),
        startup=partial(_start, settings, database, target),
        shutdown=database.dispose,
    )


def _token_service(settings: Settings, clock: SystemClock) -> TokenService:
    if settings.jwt_secret:
        secret = settings.jwt_secret.get_secret_value()
    else:  # development only (production refuses to start without one)
        log.warning("JWT_SECRET is not set: using a random one; tokens end with this process")
        secret = secrets.token_urlsafe(48)
    external = (
        ExternalIssuer(
            jwks_url=settings.jwks_url,
            issuer=settings.jwks_issuer,
            audience=settings.jwks_audience,
        )
        if settings.jwks_url
        else None
    )
    return TokenService(
        secret=secret,
        lifetime=timedelta(minutes=settings.jwt_expire_minutes),
        issuer=settings.jwt_issuer,
        clock=clock,
        external=external,
    )


def _connect_attempts(settings: Settings) -> int:
    return settings.db_connect_attempts or (5 if settings.is_production else 1)


async def reach_database(settings: Settings) -> None:
    """Wait for the database as the app's start would; StorageUnavailable when it gives up."""
    target = database_target(settings)
    database = build_database(settings, target.url)
    try:
        await wait_for_database(
            database, attempts=_connect_attempts(settings), shown_url=target.shown
        )
    finally:
        await database.dispose()


async def _start(settings: Settings, database: PostgresDatabase, target: DatabaseTarget) -> None:
    attempts = _connect_attempts(settings)
    await wait_for_database(database, attempts=attempts, shown_url=target.shown)
    current = await migrate.current_revision(target.migration_url)
    head = migrate.head_revision()
    if current == head:
        return
    if settings.is_production:
        log.warning("database schema is at %s but this release expects %s", current, head)
        return
    log.info("development: migrating the database from %s to %s", current, head)
    await migrate.upgrade(target.migration_url)


def configure_logging(settings: Settings) -> None:
    default = "WARNING" if settings.is_production else "INFO"
    level = (settings.log_level or default).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("todo").setLevel(level)
    if level == "DEBUG" and not settings.is_production:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # SQL, never parameters


def app_from_environment() -> FastAPI:
    """The uvicorn factory: `uvicorn --factory todo_api.bootstrap:app_from_environment`."""
    settings = load_settings()
    configure_logging(settings)
    return create_app(build_services(settings), settings)


# The CLI's database commands.


async def upgrade(settings: Settings, revision: str = "head") -> None:
    await migrate.upgrade(database_target(settings).migration_url, revision)


async def downgrade(settings: Settings, revision: str) -> None:
    await migrate.downgrade(database_target(settings).migration_url, revision)


async def current(settings: Settings) -> tuple[str | None, str | None]:
    return await migrate.current_revision(database_target(settings).migration_url), (
        migrate.head_revision()
    )


async def tables(settings: Settings) -> list[tuple[str, list[tuple[str, str]], int]]:
    database = build_database(settings, database_target(settings).migration_url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(table_overview)
    finally:
        await database.dispose()


async def seed(settings: Settings) -> int:
    """Add the development user and tasks where missing; returns how many rows it added."""
    services = build_services(settings)
    try:
        return await seed_development_data(accounts=services.accounts, tasks=services.tasks)
    finally:
        await services.shutdown()


@contextmanager
def embedded_database() -> Iterator[str]:
    """A throwaway PostgreSQL for `todo dev`; yields its DATABASE_URL."""
    with embedded_postgres() as url:
        yield url.render_as_string(hide_password=False)
