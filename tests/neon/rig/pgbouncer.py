"""The PgBouncer half of the rig, configured like Neon's `-pooler` endpoint: transaction
pooling, TLS to clients and to the server, SCRAM auth from a userlist holding the role's SCRAM
secret (so PgBouncer never sees a plain password, and logs in to PostgreSQL with the client's
SCRAM keys)."""

from __future__ import annotations

import os
import signal
import time

from tests.neon.rig.state import APP_USER, RigState
from tests.neon.rig.system import give_to_server_user, run_as_server
from tests.neon.rig.tls import self_signed


def configure(state: RigState, scram_secret: str) -> None:
    cert, key = self_signed(state.root, "pgbouncer")
    userlist = state.root / "userlist.txt"
    userlist.write_text(f'"{APP_USER}" "{scram_secret}"\n')
    userlist.chmod(0o600)
    state.bouncer_ini.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host=127.0.0.1 port={state.pg_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {state.bouncer_port}",
                "unix_socket_dir =",
                "pool_mode = transaction",
                "auth_type = scram-sha-256",
                f"auth_file = {userlist}",
                "max_client_conn = 1000",
                "default_pool_size = 20",
                "client_tls_sslmode = require",
                f"client_tls_cert_file = {cert}",
                f"client_tls_key_file = {key}",
                "server_tls_sslmode = require",
                "ignore_startup_parameters = extra_float_digits",
                f"logfile = {state.root / 'pgbouncer.log'}",
                f"pidfile = {state.bouncer_pid_file}",
                "",
            ]
        )
    )
    give_to_server_user(state.root)


def start(state: RigState) -> None:
    run_as_server([state.bouncer_bin, "-d", state.bouncer_ini])
    deadline = time.monotonic() + 10
    while not state.bouncer_pid_file.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"pgbouncer did not start; see {state.root / 'pgbouncer.log'}")
        time.sleep(0.05)


def stop(state: RigState) -> None:
    if not state.bouncer_pid_file.exists():
        return
    pid = int(state.bouncer_pid_file.read_text().strip())
    try:
        os.kill(pid, signal.SIGTERM)  # immediate shutdown; it removes its pid file
    except ProcessLookupError:
        state.bouncer_pid_file.unlink(missing_ok=True)
        return
    deadline = time.monotonic() + 10
    while state.bouncer_pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def restart(state: RigState) -> None:
    stop(state)
    start(state)
