"""Where the tests' throwaway PostgreSQL comes from, in order of preference:

1. `TEST_DATABASE_URL` (a Neon branch, a CI service, the Neon-like rig),
2. a testcontainers PostgreSQL when a Docker engine answers,
3. an embedded PostgreSQL (see todo_core.postgres.embedded).

Each test run gets fresh databases on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import URL

from todo_core.postgres.embedded import embedded_postgres
from todo_core.postgres.url import direct_url, normalize_database_url


@contextmanager
def postgres_server() -> Iterator[URL]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield normalize_database_url(given, name="TEST_DATABASE_URL")
    elif _docker_engine_answers():
        yield from _container()
    else:
        with embedded_postgres() as url:
            yield url


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=5, check=False)  # noqa: S607
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _container() -> Iterator[URL]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver="psycopg") as container:
        yield normalize_database_url(container.get_connection_url())


def libpq_dsn(url: URL) -> str:
    """The URL as psycopg itself takes it (no +psycopg driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def direct_endpoint(url: URL) -> URL:
    """Where CREATE DATABASE and migrations go when TEST_DATABASE_URL is a pooler (they need a
    real session): TEST_DIRECT_DATABASE_URL on the same server, else Neon's host rule."""
    given = os.environ.get("TEST_DIRECT_DATABASE_URL")
    if not given:
        return direct_url(url)
    return normalize_database_url(given, name="TEST_DIRECT_DATABASE_URL").set(database=url.database)


@contextmanager
def fresh_database(server: URL, prefix: str = "todo_test") -> Iterator[URL]:
    """An empty database on the server, dropped afterwards (or the server's own database when
    the role may not create databases, as on some hosted branches)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = libpq_dsn(direct_endpoint(server))
    try:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.errors.InsufficientPrivilege:
        yield server
        return
    try:
        yield server.set(database=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
