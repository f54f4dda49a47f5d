"""Run the packaged Alembic migrations under a PostgreSQL advisory lock.

Two instances starting at once must not both migrate: the first takes the lock, the second
waits and then finds nothing to do. A session advisory lock means nothing through a
transaction-mode pooler, so migrations always go over the direct endpoint.

Operable from a terminal: every failure is one `TodoError` whose message says what is in the
way and what to do (`StorageUnavailable` naming the host and the cause when the database
cannot be reached; `MigrationError` otherwise), never a driver's traceback. A caller may bound
the wait for the lock (`lock_wait`) and hear who holds it (`on_wait`), and may be asked before
a downgrade drops tables that hold rows (`confirm`): the downgrade is rehearsed in a
transaction that is rolled back, so what it would drop is known exactly before anything is.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, exc, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from todo_core.errors import MigrationError, StorageUnavailable, TodoError
from todo_core.postgres.introspect import table_overview
from todo_core.postgres.url import direct_url

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number; it only has to be the same for every instance of this app.
_LOCK_KEY = 0x70D0_5C4E_3A11
APPLICATION_NAME = "todo migrations"  # how another waiting migrator names this one
_DUPLICATE_TABLE = "42P07"
_HOLDER = text("""
    SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND ((l.classid::bigint << 32) | l.objid::bigint) = :key
""")

Dropped = list[tuple[str, int]]  # (table, rows) a downgrade would drop


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this package."""
    return ScriptDirectory.from_config(_config()).get_current_head()


async def upgrade(
    url: URL,
    revision: str = "head",
    *,
    lock_wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> None:
    """`lock_wait`: seconds to wait for another migrator's lock (None: as long as it takes)."""
    await _locked(url, lambda config: command.upgrade(config, revision), lock_wait, on_wait)


async def downgrade(
    url: URL,
    revision: str = "-1",
    *,
    lock_wait: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    confirm: Callable[[Dropped], bool] | None = None,
) -> None:
    """`confirm`: asked with the tables holding rows that the downgrade would drop (only when
    there are some); False cancels with nothing changed. None: no question."""

    def run(config: Config) -> None:
        command.downgrade(config, revision)

    def rehearse(sync: Connection) -> Dropped:
        # The overview begins a transaction; alembic then runs inside it and commits nothing.
        before = {name: rows for name, _, rows in table_overview(sync) if rows}
        try:
            command.downgrade(_config(sync), revision)
            after = {name for name, _, _ in table_overview(sync)}
        finally:
            sync.rollback()
        return [(name, rows) for name, rows in before.items() if name not in after]

    async def check(connection: AsyncConnection) -> None:
        if confirm is None:
            return
        rehearsed = await connection.run_sync(rehearse)
        dropped = [(name, rows) for name, rows in rehearsed if name != "alembic_version"]
        if dropped and not confirm(dropped):
            raise MigrationError(
                f"this downgrade would drop tables holding rows: {describe_dropped(dropped)};"
                " nothing was changed (confirm with --yes)"
            )

    await _locked(url, run, lock_wait, on_wait, before=check)


def describe_dropped(dropped: Dropped) -> str:
    return ", ".join(f"{name} ({rows} row{'s' if rows != 1 else ''})" for name, rows in dropped)


async def current_revision(url: URL) -> str | None:
    engine = create_async_engine(direct_url(url), poolclass=NullPool)
    try:
        with _failures(url, connected=[False]) as connected:
            async with engine.connect() as connection:
                connected[0] = True
                exists = await connection.scalar(text("SELECT to_regclass('alembic_version')"))
                if exists is None:
                    return None
                revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
                return None if revision is None else str(revision)
    finally:
        await engine.dispose()


async def tables(url: URL) -> list[tuple[str, list[tuple[str, str]], int]]:
    """`introspect.table_overview` over the direct endpoint, failures in one line."""
    url = direct_url(url)
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        with _failures(url, connected=[False]) as connected:
            async with engine.connect() as connection:
                connected[0] = True
                return await connection.run_sync(table_overview)
    finally:
        await engine.dispose()


async def _locked(
    url: URL,
    run: Callable[[Config], None],
    lock_wait: float | None,
    on_wait: Callable[[str], None] | None,
    *,
    before: Callable[[AsyncConnection], object] | None = None,
) -> None:
    url = direct_url(url)
    engine = create_async_engine(
        url, poolclass=NullPool, connect_args={"application_name": APPLICATION_NAME}
    )
    try:
        with _failures(url, connected=[False]) as connected:
            async with engine.connect() as connection:
                connected[0] = True
                await _take_lock(connection, lock_wait, on_wait)
                try:
                    if before is not None:
                        await before(connection)  # type: ignore[misc]
                    await connection.run_sync(lambda sync: run(_config(sync)))
                    await connection.commit()
                finally:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY}
                    )
                    await connection.commit()
    finally:
        await engine.dispose()


async def _take_lock(
    connection: AsyncConnection, lock_wait: float | None, on_wait: Callable[[str], None] | None
) -> None:
    key = {"key": _LOCK_KEY}
    try_lock = text("SELECT pg_try_advisory_lock(:key)")
    got = await connection.scalar(try_lock, key)
    await connection.commit()
    if got:
        return
    holder = (await connection.execute(_HOLDER, key)).first()
    await connection.commit()
    who = f"pid {holder[0]} ({holder[1] or 'no application name'})" if holder else "another session"
    if on_wait is not None:
        limit = "" if lock_wait is None else f", giving up after {lock_wait:g} s"
        on_wait(f"waiting for the migration lock, held by {who}{limit}")
    deadline = None if lock_wait is None else time.monotonic() + lock_wait
    while deadline is None or time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        got = await connection.scalar(try_lock, key)
        await connection.commit()
        if got:
            return
    raise MigrationError(
        f"gave up after {lock_wait:g} s waiting for the migration lock held by {who}:"
        " another migration is running; try again when it is done"
    )


@contextmanager
def _failures(url: URL, *, connected: list[bool]) -> Iterator[list[bool]]:
    """Driver errors in, one-line core errors out."""
    where = _where(url)
    try:
        yield connected
    except TodoError:
        raise
    except exc.DBAPIError as error:
        original = error.orig
        reason = _reason(original)
        if getattr(original, "sqlstate", None) == _DUPLICATE_TABLE:
            raise MigrationError(
                f"the database at {where} already holds a table these migrations would create"
                f" ({reason}), probably made by an older version of the app: migrate an empty"
                " database, or rename or drop that table and run `todo db upgrade` again"
            ) from None
        if not connected[0]:
            raise StorageUnavailable(f"cannot reach the database at {where}: {reason}") from None
        if isinstance(original, psycopg.OperationalError) or error.connection_invalidated:
            raise MigrationError(
                f"lost the connection to the database at {where} during the migration"
                f" ({reason}); the interrupted step was rolled back: run it again"
            ) from None
        raise MigrationError(f"the migration failed on the database at {where}: {reason}") from None
    except (OSError, psycopg.Error) as error:
        raise StorageUnavailable(
            f"cannot reach the database at {where}: {_reason(error)}"
        ) from None


def _where(url: URL) -> str:
    host = url.host or str(url.query.get("host", "")) or "localhost"
    return f"{host}:{url.port or 5432}"


def _reason(error: BaseException | None) -> str:
    """The driver's message, first line, without the part that repeats the address."""
    first = (str(error).strip().splitlines() or ["unknown error"])[0]
    return first.rsplit("failed: ", 1)[-1].strip() or first
