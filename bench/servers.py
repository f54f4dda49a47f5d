"""The processes under test: PostgreSQL, the API, the no-op ceiling and the template baseline
(bench/template.py), each on loopback.

Both HTTP servers run as `uvicorn` in one worker with the same settings as `todo serve`
(uvloop + httptools via uvicorn[standard], no server header, proxy headers on), so the only
difference between the API and the no-op ceiling is the work a route does.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    base_url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mb(self) -> float:
        """The kernel's high-water mark of resident memory (VmHWM) for the server process."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc status")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def api_environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "LOG_LEVEL": "WARNING",
        # The pool sized to the load (wrk keeps 32 requests in flight): the seeds' default of
        # 5 + 10 overflow closes and reopens overflow connections all the time under such a
        # load, which measures connection set-up rather than the API. Same count as the
        # database ceiling's 15 connections, plus one.
        "DB_POOL_SIZE": "16",
        "DB_MAX_OVERFLOW": "0",
        # The login scenarios measure bcrypt, not the login throttle (todo_api.throttle).
        "LOGIN_ATTEMPTS_PER_MINUTE": "100000000",
        "LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "100000000",
    }


def template_environment(database_url: str, secret: str) -> dict[str, str]:
    """The template baseline's settings: the same database, its own signing key."""
    return {**os.environ, "DATABASE_URL": database_url, "TEMPLATE_SECRET_KEY": secret}


def create_template_tables(environment: dict[str, str]) -> None:
    # In its own process: the template's SQLModel tables never meet ours in one registry.
    command = [sys.executable, "-m", "bench.template", "--create-tables"]
    subprocess.run(command, env=environment, cwd=ROOT, check=True, capture_output=True)  # noqa: S603


def migrate(environment: dict[str, str]) -> None:
    command = [_todo(), "db", "upgrade"]
    subprocess.run(command, env=environment, check=True, capture_output=True)  # noqa: S603


@contextmanager
def serve(
    command: list[str], environment: dict[str, str], port: int, ready: str
) -> Iterator[Server]:
    # The servers' logs (the API's access log is on by default, as in `todo serve`: a JSON
    # line per request) would bury the table: they go to bench-servers.log (ignored by git).
    with (ROOT / "bench-servers.log").open("a") as log:
        process = subprocess.Popen(  # noqa: S603 - our own argv
            command, env=environment, cwd=ROOT, stdout=log, stderr=log
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        _wait_until_ready(server, ready)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def api_command(port: int) -> list[str]:
    return [_todo(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


def noop_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.noop", "--port", str(port)]


def template_command(port: int) -> list[str]:
    return [sys.executable, "-m", "bench.template", "--port", str(port)]


def sibling(program: str) -> str:
    """A console script of this environment (nox runs us without activating it)."""
    return str(Path(sys.executable).with_name(program))


def _todo() -> str:
    return sibling("todo")


def _wait_until_ready(server: Server, path: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.base_url}: the server exited ({server.process.returncode})"
            )
        try:
            with urllib.request.urlopen(server.base_url + path, timeout=1) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.base_url}{path} did not answer within {timeout} s")
