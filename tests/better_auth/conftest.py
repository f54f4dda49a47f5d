"""A real Better Auth server (Node.js, `better-auth` and `pg` pinned in this folder's
package-lock.json) on the test PostgreSQL, and the API configured to trust its JWKS.

`npm ci` runs here when node_modules is missing. Without `node` on the machine these tests
are skipped; CI has it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from tests.api.conftest import make_settings
from tests.support.databases import direct_endpoint
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_core.postgres import PostgresDatabase

HERE = Path(__file__).parent
SCHEMA = "better_auth"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class BetterAuth:
    base_url: str

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/api/auth/jwks"


def _npm_ci() -> None:
    if (HERE / "node_modules" / "better-auth").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("node is installed but npm is not: cannot install Better Auth")
    subprocess.run(  # noqa: S603
        [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600
    )


def _pg_environment(url: URL) -> dict[str, str]:
    """libpq-style variables, which `pg` reads, for the test database (socket or TCP)."""
    host = url.query.get("host") or url.host or "localhost"
    env = {
        "PGHOST": str(host),
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.database or "postgres",
    }
    if url.query.get("sslmode"):
        env["PGSSLMODE"] = str(url.query["sslmode"])
    return env


def _read_port(process: subprocess.Popen[str], stdout: IO[str]) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = stdout.readline()
        if line.startswith("listening "):
            return int(line.split()[1])
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(
        f"Better Auth did not start:\n{process.stderr.read() if process.stderr else ''}"
    )


@pytest.fixture(scope="session")
def better_auth(database_url: URL) -> Iterator[BetterAuth]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the real Better Auth server cannot run")
    _npm_ci()
    env = {
        **os.environ,
        **_pg_environment(direct_endpoint(database_url)),
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(32),
        "BA_SCHEMA": SCHEMA,
        "BETTER_AUTH_TELEMETRY": "0",
    }
    process = subprocess.Popen(  # noqa: S603
        [node, "server.mjs"],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = _read_port(process, process.stdout)
        yield BetterAuth(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def api(
    database_url: URL, database: PostgresDatabase, better_auth: BetterAuth
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with JWKS_URL set to Better Auth's, and nothing else about it configured:
    `iss` and `aud` default to the JWKS URL's origin, Better Auth's base URL."""
    settings = make_settings(
        database_url, jwks_url=better_auth.jwks_url, jwks_min_refetch_seconds=0
    )
    app = create_app(build_services(Config.of(settings), database=database), settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
