"""The PostgreSQL half of the rig: a TLS, SCRAM-only server in a temp dir, and the faults a
Neon compute shows (suspend, restart, an outage)."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from tests.neon.rig.state import ADMIN_USER, APP_USER, DATABASE, RigState
from tests.neon.rig.system import give_to_server_user, run_as_server
from tests.neon.rig.tls import self_signed
from tests.support.databases import libpq_dsn

# TCP over TLS with SCRAM and nothing else, as on Neon: no trust, no md5, no Unix socket login.
_HBA = "hostssl all all 127.0.0.1/32 scram-sha-256\n"


def initialise(state: RigState) -> None:
    state.root.mkdir(parents=True, exist_ok=True)
    password_file = state.root / "admin.pw"
    password_file.write_text(state.admin_password + "\n")
    give_to_server_user(state.root)
    run_as_server(
        [
            state.pg_bin / "initdb",
            "-D",
            state.data_dir,
            "-U",
            ADMIN_USER,
            "--pwfile",
            password_file,
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ]
    )
    password_file.unlink()
    cert, key = self_signed(state.data_dir, "server")
    (state.data_dir / "pg_hba.conf").write_text(_HBA)
    with (state.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(_settings(state, cert, key))
    give_to_server_user(state.data_dir)


def _settings(state: RigState, cert: Path, key: Path) -> str:
    return "\n".join(
        [
            "listen_addresses = '127.0.0.1'",
            f"port = {state.pg_port}",
            f"unix_socket_directories = '{state.root}'",
            "ssl = on",
            f"ssl_cert_file = '{cert}'",
            f"ssl_key_file = '{key}'",
            "password_encryption = 'scram-sha-256'",
            "max_connections = 200",
            "fsync = off",  # a throwaway server: crash safety is not what the rig tests
            "log_connections = off",
            "",
        ]
    )


def start(state: RigState) -> None:
    log = state.root / "postgres.log"
    run_as_server([state.pg_bin / "pg_ctl", "-D", state.data_dir, "-l", log, "-w", "start"])


def stop(state: RigState) -> None:
    run_as_server([state.pg_bin / "pg_ctl", "-D", state.data_dir, "-m", "fast", "-w", "stop"])


def is_running(state: RigState) -> bool:
    return (state.data_dir / "postmaster.pid").exists()


def restart(state: RigState) -> None:
    """`pg_ctl restart -m fast`: every session is cut (57P01), the server is back when it
    returns."""
    log = state.root / "postgres.log"
    run_as_server(
        [state.pg_bin / "pg_ctl", "-D", state.data_dir, "-l", log, "-m", "fast", "-w", "restart"]
    )


def outage(state: RigState, seconds: float) -> None:
    stop(state)
    time.sleep(seconds)
    start(state)


def suspend(state: RigState) -> int:
    """What a suspending Neon compute does to its clients: terminate every client backend,
    and return once they are gone (a suspended compute is gone before the next request comes).
    Returns how many were terminated (our own admin session is spared)."""
    with psycopg.connect(libpq_dsn(state.admin_url()), autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) "
            "FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def create_app_role(state: RigState) -> str:
    """The application's role (CREATEDB, so the tests can make their own databases) and its
    database; returns the role's SCRAM secret for PgBouncer's userlist."""
    with psycopg.connect(libpq_dsn(state.admin_url()), autocommit=True) as admin:
        admin.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                psycopg.sql.Identifier(APP_USER), psycopg.sql.Literal(state.app_password)
            )
        )
        admin.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{APP_USER}"')
        row = admin.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [APP_USER]
        ).fetchone()
    assert row is not None and str(row[0]).startswith("SCRAM-SHA-256$")
    return str(row[0])
