"""The `todo` command's refusals are one line, name the fix, and carry no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy.engine import URL

from todo_core.postgres import migrate


def todo(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "JWT_"))}
    return subprocess.run(  # noqa: S603 - our own interpreter and CLI
        [sys.executable, "-m", "todo_api.cli", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd="/",  # away from any developer's .env
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATABASE_URL is not set"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "requires PostgreSQL"),
        ({"DATABASE_URL": "mysql://u:hunter2hunter2@h/db"}, "requires PostgreSQL"),
        ({"DATABASE_URL": "postgresql://u:hunter2hunter2@h:port/db"}, "malformed"),
        (
            {"DATABASE_URL": "postgresql://u:p@h/db", "ENVIRONMENT": "production"},
            "JWT_SECRET is not set",
        ),
        (
            {
                "DATABASE_URL": "postgresql://u:p@h/db",
                "ENVIRONMENT": "production",
                "JWT_SECRET": "change-me",
            },
            "JWT_SECRET is too weak",
        ),
    ],
)
def test_serve_refuses_a_bad_configuration_in_one_line(env: dict[str, str], message: str) -> None:
    result = todo("serve", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_db_commands_show_revision_and_tables(database_url: URL) -> None:
    url = database_url.render_as_string(hide_password=False)
    current = todo("db", "current", DATABASE_URL=url)
    assert current.returncode == 0, current.stderr
    assert "state:   up to date" in current.stdout
    tables = todo("db", "tables", DATABASE_URL=url)
    assert tables.returncode == 0, tables.stderr
    assert "tasks (" in tables.stdout
    assert "users (" in tables.stdout
    assert "    tags             text[]" in tables.stdout
    for table in ("sessions (", "refresh_tokens (", "account_tokens ("):
        assert table in tables.stdout
    assert "    token_hash       bytea" in tables.stdout
    assert f"migration revision: {migrate.head_revision()}" in tables.stdout


def test_serve_stops_in_one_line_when_the_database_does_not_answer() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = todo("serve", DATABASE_URL=f"postgresql://u:hunter2hunter2@127.0.0.1:{port}/db")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("todo: error: cannot reach the database"), result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
