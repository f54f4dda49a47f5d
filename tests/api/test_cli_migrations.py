"""`todo db` is operable: what is in the way is said in one line with a non-zero exit (a foreign
table, an unreachable database, another migration holding the lock), and a downgrade that
would drop rows names them and needs --yes. Exact output, as a person sees it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time

import psycopg
from sqlalchemy.engine import URL

from tests.support.databases import libpq_dsn
from todo_core.postgres import migrate


def todo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "JWT_"))}
    return subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "todo_api.cli", *args],
        env={**clean, **env},
        stdin=subprocess.DEVNULL,  # no one at a terminal to answer a question
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd="/",
    )


def where(url: URL) -> str:
    return f"{url.host or url.query['host']}:{url.port or 5432}"


def plain(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def test_upgrade_over_a_foreign_tasks_table_says_so_in_one_line(scratch_database: URL) -> None:
    with psycopg.connect(libpq_dsn(scratch_database), autocommit=True) as connection:
        connection.execute("CREATE TABLE tasks (id serial PRIMARY KEY, name text)")  # create_all
    expected = (
        f"todo: error: the database at {where(scratch_database)} already holds a table these"
        ' migrations would create (relation "tasks" already exists), probably made by an older'
        " version of the app: migrate an empty database, or rename or drop that table and run"
        " `todo db upgrade` again"
    )
    upgrade = todo("db", "upgrade", DATABASE_URL=plain(scratch_database))
    assert (upgrade.returncode, upgrade.stderr.splitlines(), upgrade.stdout) == (2, [expected], "")
    serve = todo("serve", "--port", "1", DATABASE_URL=plain(scratch_database))  # development
    assert serve.returncode == 2
    assert serve.stderr.splitlines()[-1] == expected
    assert "Traceback" not in serve.stderr


def test_every_db_command_on_an_unreachable_database_is_one_line() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://u:hunter2hunter2@127.0.0.1:{port}/db"
    expected = f"todo: error: cannot reach the database at 127.0.0.1:{port}: Connection refused"
    for command in ("current", "upgrade", "downgrade", "tables"):
        result = todo("db", command, DATABASE_URL=url)
        assert (result.returncode, result.stderr.splitlines()) == (2, [expected]), command


def test_a_held_migration_lock_is_named_and_given_up_on(scratch_database: URL) -> None:
    dsn = libpq_dsn(scratch_database)
    with psycopg.connect(dsn, autocommit=True, application_name="other-migrator") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migrate._LOCK_KEY,))
        pid = holder.info.backend_pid
        result = todo("db", "upgrade", "--lock-timeout", "1", DATABASE_URL=plain(scratch_database))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"todo: waiting for the migration lock, held by pid {pid} (other-migrator),"
        " giving up after 1 s",
        f"todo: error: gave up after 1 s waiting for the migration lock held by pid {pid}"
        " (other-migrator): another migration is running; try again when it is done",
    ]
    assert asyncio.run(migrate.current_revision(scratch_database)) is None  # nothing ran


def test_a_downgrade_that_drops_rows_says_what_and_needs_yes(scratch_database: URL) -> None:
    asyncio.run(migrate.upgrade(scratch_database))
    with psycopg.connect(libpq_dsn(scratch_database), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO users (id, email, password_hash)"
            " VALUES ('6b1f4e0e-8c1a-4a57-9d43-5f0d2b8a9c10', 'a@example.com', 'x')"
        )
        connection.execute(
            "INSERT INTO tasks (id, user_id, title) SELECT gen_random_uuid(),"
            " '6b1f4e0e-8c1a-4a57-9d43-5f0d2b8a9c10', 'task ' || n FROM generate_series(1, 5) n"
        )
    refused = todo("db", "downgrade", "base", DATABASE_URL=plain(scratch_database))
    assert (refused.returncode, refused.stdout) == (2, ""), refused.stderr[-3000:]
    assert refused.stderr.splitlines() == [
        "todo: error: this downgrade would drop tables holding rows: change_counters (1 row),"
        " task_changes (5 rows), tasks (5 rows), users (1 row); nothing was changed"
        " (confirm with --yes)"
    ]
    assert asyncio.run(migrate.current_revision(scratch_database)) == migrate.head_revision()
    one_step = todo("db", "downgrade", DATABASE_URL=plain(scratch_database))  # drops no rows
    assert (one_step.returncode, one_step.stdout) == (0, "todo: downgraded\n")
    confirmed = todo("db", "downgrade", "base", "--yes", DATABASE_URL=plain(scratch_database))
    assert (confirmed.returncode, confirmed.stdout) == (0, "todo: downgraded\n"), confirmed.stderr
    assert asyncio.run(migrate.current_revision(scratch_database)) is None


def test_an_upgrade_whose_connection_is_killed_says_so_in_one_line(
    scratch_database: URL,
) -> None:
    asyncio.run(migrate.upgrade(scratch_database, "0001_initial"))
    dsn = libpq_dsn(scratch_database)
    with psycopg.connect(dsn) as holder, psycopg.connect(dsn, autocommit=True) as killer:
        holder.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")  # the next step waits here
        upgrade = subprocess.Popen(
            [sys.executable, "-m", "todo_api.cli", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": plain(scratch_database)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd="/",
        )
        waiting = (
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'todo migrations'"
            " AND wait_event_type = 'Lock'"
        )
        for _ in range(600):
            row = killer.execute(waiting).fetchone()
            if row is not None:
                killer.execute("SELECT pg_terminate_backend(%s)", row)
                break
            time.sleep(0.05)
        else:
            upgrade.kill()
            raise AssertionError("the upgrade never came to wait for the table lock")
        stdout, stderr = upgrade.communicate(timeout=120)
        holder.rollback()
    assert (upgrade.returncode, stdout) == (2, ""), stderr
    [line] = stderr.splitlines()
    assert line.startswith(
        f"todo: error: lost the connection to the database at {where(scratch_database)}"
        " during the migration ("
    )
    assert line.endswith("); the interrupted step was rolled back: run it again")
    assert asyncio.run(migrate.current_revision(scratch_database)) == "0001_initial"
