"""The machine under the rig: Debian's binaries (installed when missing), an unprivileged user
to run the servers as when we are root, and free loopback ports."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SERVER_USER = "todo-pg"
_PACKAGES = ("postgresql", "pgbouncer")


def postgres_bin() -> Path:
    """The newest installed major's bin directory, installing Debian's packages when needed."""
    _ensure_installed()
    majors = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_major)
    return majors[-1].parent


def pgbouncer_bin() -> str:
    _ensure_installed()
    return shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def _major(initdb: Path) -> int:
    return int(initdb.parent.parent.name)


def _ensure_installed() -> None:
    have_postgres = any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    have_bouncer = shutil.which("pgbouncer") or Path("/usr/sbin/pgbouncer").exists()
    if have_postgres and have_bouncer:
        return
    if os.geteuid() != 0:
        raise RuntimeError("the Neon rig needs: apt-get install -y postgresql pgbouncer")
    apt = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=apt)  # noqa: S607
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *_PACKAGES]
    subprocess.run(install, check=True, env=apt)  # noqa: S603


def _server_account() -> pwd.struct_passwd | None:
    """Who runs the servers: an unprivileged user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(  # noqa: S603
            [
                "/usr/sbin/useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(SERVER_USER)


def give_to_server_user(path: Path) -> None:
    account = _server_account()
    if account is None:
        return
    for item in [path, *path.rglob("*")]:
        os.chown(item, account.pw_uid, account.pw_gid)


def run_as_server(command: Sequence[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    account = _server_account()
    if account is not None:
        kwargs |= {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    return subprocess.run(  # noqa: S603
        [str(part) for part in command], check=True, text=True, capture_output=True, **kwargs
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
