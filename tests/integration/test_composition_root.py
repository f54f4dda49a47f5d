"""The composition root: DB_* settings become the adapter's options in one place, and the
start-up work runs either in the app's lifespan or in the `todo` command, never in both."""

from __future__ import annotations

import socket
import subprocess
import sys
from dataclasses import fields

import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from todo_api import bootstrap
from todo_api.bootstrap import Config, engine_options
from todo_api.settings import Settings
from todo_core import StorageUnavailable
from todo_core.postgres import EngineOptions, migrate


def test_every_db_setting_but_the_start_attempts_is_an_engine_option_with_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)  # the defaults, not this run's DB_POOLED
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    db_settings = {n[3:] for n in Settings.model_fields if n.startswith("db_")}
    options = {f.name for f in fields(EngineOptions)}
    assert db_settings - options == {"connect_attempts"}  # a start-up setting, not the engine's
    assert engine_options(settings) == EngineOptions()


def test_a_setting_reaches_the_engine_options() -> None:
    settings = Settings(_env_file=None, db_pool_size=7, db_pooled=True, db_echo=True)  # type: ignore[call-arg]
    assert engine_options(settings) == EngineOptions(pool_size=7, pooled=True, echo=True)


def test_the_migration_url_is_the_direct_endpoint_unless_set() -> None:
    pooled = "postgresql://u:p@ep-x-pooler.eu-central-1.aws.neon.tech/db?sslmode=require"
    config = Config.of(Settings(_env_file=None, database_url=pooled))  # type: ignore[call-arg]
    assert config.url.host == "ep-x-pooler.eu-central-1.aws.neon.tech"
    assert config.migration_url.host == "ep-x.eu-central-1.aws.neon.tech"
    assert "p@" not in config.shown_url


def _nowhere() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://todo:pw@127.0.0.1:{port}/todo"


@pytest.fixture
def environment_without_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no .env file can chime in
    monkeypatch.setenv("DATABASE_URL", _nowhere())
    monkeypatch.setenv("DB_CONNECT_TIMEOUT", "1")


@pytest.mark.usefixtures("environment_without_database")
async def test_the_uvicorn_factory_app_waits_for_the_database_as_it_starts() -> None:
    app = bootstrap.app_from_environment()
    with pytest.raises(StorageUnavailable):
        async with LifespanManager(app):
            pass


@pytest.mark.usefixtures("environment_without_database")
async def test_the_app_the_todo_command_prepared_does_not_wait_again() -> None:
    app = bootstrap.prepared_app_from_environment()
    async with LifespanManager(app):  # `todo serve` waited already: no second wait, no error
        pass


async def test_start_once_migrates_a_development_database(scratch_database: URL) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=scratch_database.render_as_string(hide_password=False)
    )
    assert await migrate.current_revision(scratch_database) is None
    await bootstrap.start_once(Config.of(settings))
    assert await migrate.current_revision(scratch_database) == migrate.head_revision()


@pytest.mark.usefixtures("environment_without_database")
def test_the_served_app_sets_its_start_up_heap_aside_from_the_collector() -> None:
    # In a process of its own: freezing this test process's heap would outlive the test.
    code = (
        "import gc; from todo_api import bootstrap; "
        "before = gc.get_freeze_count(); bootstrap.served_app_from_environment(); "
        "print(before, gc.get_freeze_count())"
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    before, after = map(int, ran.stdout.split()[-2:])
    assert before == 0
    assert after > 10_000  # the modules, routes and schemas: far more objects than that
