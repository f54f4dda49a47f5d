"""The composition root: the one place that turns settings into the app's parts (the database
adapter, the services, the token service) and hands them to `create_app`. Each part is built
once; nothing connects at import time.

Besides the CLI's database commands (`todo_api.db_commands`), it is the only module of
`todo_api` allowed to import the PostgreSQL adapter (import-linter checks it).

The start-up work (wait for the database, then bring or check its schema) runs once: in the
app's lifespan when uvicorn starts the app itself (`app_from_environment`), or in the `todo`
command before uvicorn starts, in which case the app it hands uvicorn
(`prepared_app_from_environment`) skips it.
"""

from __future__ import annotations

import gc
import logging
import secrets
from dataclasses import dataclass, fields
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from sqlalchemy.engine import URL

from todo_api.app import create_app
from todo_api.container import Services, nothing_to_do
from todo_api.jwks import JwksKeys, http_fetcher
from todo_api.logs import configure_logging
from todo_api.observability import PoolStats
from todo_api.settings import Settings
from todo_api.tokens import ExternalIssuer, TokenService, default_issuer
from todo_core import (
    AccountEmails,
    AccountService,
    BcryptPasswordHasher,
    Clock,
    EmailMessage,
    EmailSender,
    IdentityService,
    SyncService,
    SystemClock,
    TaskService,
    TokenLifetimes,
)
from todo_core.mail import BackgroundEmailSender, LogEmailSender, SmtpEmailSender
from todo_core.postgres import (
    EngineOptions,
    PostgresDatabase,
    PostgresHealthProbe,
    PostgresLoginFailureLog,
    PostgresUnitOfWorkFactory,
    migrate,
    normalize_database_url,
)
from todo_core.postgres.startup import wait_for_database
from todo_core.postgres.url import direct_url, masked

log = logging.getLogger("todo")

# Each engine option `name` is the setting `db_<name>`; these have no setting (the adapter's
# own defaults hold).
_OPTIONS_WITHOUT_SETTING = frozenset({"circuit_pause"})


@dataclass(frozen=True, kw_only=True)
class Config:
    """The settings with the database URLs parsed, once; what every builder here takes."""

    settings: Settings
    url: URL  # the app's URL (pooled on Neon)
    migration_url: URL  # direct endpoint: migrations and their lock need a real session

    @classmethod
    def of(cls, settings: Settings) -> Config:
        """DatabaseUrlError when DATABASE_URL (or MIGRATION_DATABASE_URL) is missing or bad."""
        raw = settings.database_url.get_secret_value() if settings.database_url else None
        url = normalize_database_url(raw)
        migration = settings.migration_database_url
        return cls(
            settings=settings,
            url=url,
            migration_url=normalize_database_url(
                migration.get_secret_value(), name="MIGRATION_DATABASE_URL"
            )
            if migration
            else direct_url(url),
        )

    @property
    def shown_url(self) -> str:
        return masked(self.url)


def load_config() -> Config:
    """Settings from the environment, checked, with the URLs parsed: a bad one stops here
    (pydantic's ValidationError, or DatabaseUrlError)."""
    return Config.of(Settings())


def engine_options(settings: Settings) -> EngineOptions:
    """The DB_* settings as the adapter's options: the one place they are mapped."""
    names = (f.name for f in fields(EngineOptions) if f.name not in _OPTIONS_WITHOUT_SETTING)
    return EngineOptions(**{name: getattr(settings, f"db_{name}") for name in names})


def build_database(config: Config, url: URL | None = None) -> PostgresDatabase:
    """The adapter on `url` (default: the app's URL); the caller disposes of it."""
    return PostgresDatabase.from_url(url or config.url, engine_options(config.settings))


def build_services(
    config: Config,
    *,
    database: PostgresDatabase | None = None,
    start: bool = True,
    clock: Clock | None = None,
) -> Services:
    """The services on `database`, or on one of their own that their shutdown disposes of.
    `start=False`: the start-up work was done already (by the `todo` command). `clock`:
    tests hand in their own."""
    owned = database is None
    database = database or build_database(config)
    settings = config.settings
    clock = clock or SystemClock()
    uow = PostgresUnitOfWorkFactory(database)
    hasher = BcryptPasswordHasher(rounds=settings.password_hash_rounds)
    mailer = BackgroundEmailSender(_email_sender(settings), timeout=settings.smtp_timeout * 3)

    async def shutdown() -> None:
        await mailer.drain()  # the emails still under way go out first
        if owned:
            await database.dispose()

    identities = IdentityService(uow=uow, clock=clock)
    return Services(
        accounts=AccountService(
            uow=uow,
            hasher=hasher,
            clock=clock,
            mailer=mailer,
            emails=AccountEmails(public_url=settings.public_url),
            lifetimes=TokenLifetimes(
                session=timedelta(days=settings.refresh_token_expire_days),
                password_reset=timedelta(minutes=settings.password_reset_expire_minutes),
                email_verification=timedelta(hours=settings.email_verification_expire_hours),
            ),
        ),
        tasks=TaskService(
            uow=uow, clock=clock, key_lifetime=timedelta(hours=settings.idempotency_key_hours)
        ),
        sync=SyncService(
            uow=uow,
            clock=clock,
            tombstone_retention=timedelta(days=settings.tombstone_retention_days),
        ),
        health=PostgresHealthProbe(database, head=migrate.head_revision()),
        tokens=_token_service(settings, clock, identities),
        identities=identities,
        login_failures=PostgresLoginFailureLog(database),
        pool_stats=partial(_pool_stats, database),
        startup=partial(start_database, config, database) if start else nothing_to_do,
        shutdown=shutdown,
    )


def _email_sender(settings: Settings) -> EmailSender:
    if settings.smtp_host:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpEmailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.email_from,
            tls=settings.smtp_tls,
            username=settings.smtp_username,
            password=password,
            timeout=settings.smtp_timeout,
        )
    if settings.is_production:
        log.warning("SMTP_HOST is not set: account emails (reset, verification) are not sent")
        return _Dropped()
    return LogEmailSender()


class _Dropped:
    """Production without SMTP: links carry secrets, so they never go to the log there."""

    async def send(self, message: EmailMessage) -> None:
        log.warning("email %r dropped: SMTP_HOST is not set", message.subject)


def _pool_stats(database: PostgresDatabase) -> PoolStats:
    pool = database.engine.pool
    size = getattr(pool, "size", lambda: 0)()
    return PoolStats(size=size, in_use=database.in_use, waiting=database.stats.waiting)


def _token_service(settings: Settings, clock: Clock, identities: IdentityService) -> TokenService:
    if settings.jwt_secret:
        secret = settings.jwt_secret.get_secret_value()
    else:  # development only (production refuses to start without one)
        log.warning("JWT_SECRET is not set: using a random one; tokens end with this process")
        secret = secrets.token_urlsafe(48)
    return TokenService(
        secret=secret,
        lifetime=timedelta(minutes=settings.jwt_expire_minutes),
        issuer=settings.jwt_issuer,
        clock=clock,
        external=external_issuer(settings),
        identities=identities,
    )


def external_issuer(settings: Settings) -> ExternalIssuer | None:
    """JWKS_URL's issuer, checked for `iss` and `aud` (both default to the URL's origin)."""
    if not settings.jwks_url:
        return None
    keys = JwksKeys(
        http_fetcher(settings.jwks_url, timeout=settings.jwks_timeout_seconds),
        max_age=settings.jwks_cache_seconds,
        min_refetch=settings.jwks_min_refetch_seconds,
    )
    origin = default_issuer(settings.jwks_url)
    return ExternalIssuer(
        keys=keys,
        issuer=settings.jwks_issuer or origin,
        audience=settings.jwks_audience or origin,
    )


async def start_database(config: Config, database: PostgresDatabase) -> None:
    """The start-up work: wait for the database (StorageUnavailable when it gives up), then
    migrate it in development or warn about an old schema in production."""
    settings = config.settings
    attempts = settings.db_connect_attempts or (5 if settings.is_production else 1)
    await wait_for_database(database, attempts=attempts, shown_url=config.shown_url)
    current = await migrate.current_revision(config.migration_url)
    head = migrate.head_revision()
    if current == head:
        return
    if settings.is_production:
        log.warning("database schema is at %s but this release expects %s", current, head)
        return
    log.info("development: migrating the database from %s to %s", current, head)
    await migrate.upgrade(config.migration_url)


async def start_once(config: Config) -> None:
    """The start-up work for the `todo` command, before it starts uvicorn."""
    database = build_database(config)
    try:
        await start_database(config, database)
    finally:
        await database.dispose()


def app_from_environment() -> FastAPI:
    """The uvicorn factory: `uvicorn --factory todo_api.bootstrap:app_from_environment`; the
    app does the start-up work as it starts."""
    return _app(start=True)


def prepared_app_from_environment() -> FastAPI:
    """The factory `todo serve` and `todo dev` hand uvicorn once they have done the start-up
    work themselves."""
    return _app(start=False)


def served_app_from_environment() -> FastAPI:
    """`todo serve`'s and `todo dev`'s factory: the prepared app, then the heap built so far
    is set aside from the garbage collector (`gc.freeze`). Modules, routes, schemas and the
    ORM's metadata (most of the process's objects, alive as long as it is) were rescanned by
    every full collection: about 7% of the CPU under load, and each a pause of ~0.1 s that
    every request in flight waited out. Frozen objects are still freed by reference counting;
    only cycles among them wait for the process to end, and these live that long anyway."""
    app = prepared_app_from_environment()
    gc.collect()  # garbage made while starting is not frozen with the rest
    gc.freeze()
    return app


def _app(*, start: bool) -> FastAPI:
    config = load_config()
    configure_logging(config.settings)  # per process: uvicorn's workers are fresh interpreters
    return create_app(build_services(config, start=start), config.settings)
