"""Migration 0002 installs pg_trgm for the search indexes, and its downgrade removes the
extension only when it was the one that installed it."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import URL

from tests.support.databases import libpq_dsn
from todo_core.postgres import migrate


def trigram_installed(url: URL) -> bool:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        return found.fetchone() is not None


async def test_downgrade_removes_the_extension_it_installed(scratch_database: URL) -> None:
    await migrate.upgrade(scratch_database)
    assert trigram_installed(scratch_database)
    await migrate.downgrade(scratch_database, "0001_initial")
    assert not trigram_installed(scratch_database)


async def test_downgrade_keeps_an_extension_installed_before(scratch_database: URL) -> None:
    with psycopg.connect(libpq_dsn(scratch_database), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION pg_trgm")
    await migrate.upgrade(scratch_database)
    await migrate.downgrade(scratch_database, "base")
    assert trigram_installed(scratch_database)
