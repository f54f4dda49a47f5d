"""`todo serve` as a real process (uvicorn, its proxy-header handling, its workers), for the
tests that need what only a real server does."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base_url: str
    log: Path  # the process's stdout and stderr

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def todo_serve(
    tmp_path: Path,
    *,
    args: Sequence[str] = (),
    env: dict[str, str],
    port: int | None = None,
    name: str = "server",
) -> Iterator[Server]:
    """Start `todo serve --host 127.0.0.1 [args]`, wait for /health, stop it afterwards.
    `port` is where to look for it (by default a free one, passed as --port)."""
    if port is None:
        port = free_port()
        args = [*args, "--port", str(port)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "JWT_"))}
    log = tmp_path / f"{name}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and CLI
            [sys.executable, "-m", "todo_api.cli", "serve", "--host", "127.0.0.1", *args],
            env={**clean, "JWT_SECRET": secrets.token_urlsafe(48), **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,  # away from any developer's .env
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process, log)
        yield Server(base, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"todo serve exited: {log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"todo serve did not answer on {base}: {log.read_text()}")
