"""A local Neon-like rig: PostgreSQL over TLS with SCRAM only, PgBouncer in transaction mode in
front of it, and the faults of a serverless compute (suspend, restart, outage, cold start).

    python -m tests.neon.rig up DIR     start it; writes DIR/rig.json and DIR/passes.json
    python -m tests.neon.rig down DIR   stop both servers and delete DIR

`nox -s neon` drives it; the fault scenarios in tests/neon find it through `NEON_RIG`.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

from tests.neon.rig import pgbouncer, postgres
from tests.neon.rig.state import RigState
from tests.neon.rig.system import free_port, pgbouncer_bin, postgres_bin

__all__ = ["RigState", "down", "up"]

PASSES_FILE = "passes.json"


def up(root: Path) -> RigState:
    state = RigState(
        root=root,
        pg_bin=postgres_bin(),
        pg_port=free_port(),
        bouncer_port=free_port(),
        bouncer_bin=pgbouncer_bin(),
        admin_password=secrets.token_hex(16),
        app_password=secrets.token_hex(16),
    )
    try:
        postgres.initialise(state)
        postgres.start(state)
        pgbouncer.configure(state, postgres.create_app_role(state))
        pgbouncer.start(state)
        (root / PASSES_FILE).write_text(json.dumps(pass_environments(state, state.save())))
    except BaseException:
        down(state)
        raise
    return state


def down(state: RigState) -> None:
    try:
        pgbouncer.stop(state)
        if postgres.is_running(state):
            postgres.stop(state)
    finally:
        shutil.rmtree(state.root, ignore_errors=True)


def pass_environments(state: RigState, state_file: Path) -> dict[str, dict[str, str]]:
    """The environment of each test pass `nox -s neon` runs."""
    direct = state.direct_url().render_as_string(hide_password=False)
    pooled = state.pooled_url().render_as_string(hide_password=False)
    return {
        "direct": {"TEST_DATABASE_URL": direct},
        # Through the pooler the app's engine must know it (the host has no `-pooler`), and
        # CREATE DATABASE and the migration (with its session lock) go over the direct endpoint.
        "pooled": {
            "TEST_DATABASE_URL": pooled,
            "TEST_DB_POOLED": "1",
            "DB_POOLED": "true",  # engines the tests build through Settings
            "TEST_DIRECT_DATABASE_URL": direct,
        },
        "faults": {"TEST_DATABASE_URL": direct, "NEON_RIG": str(state_file)},
    }
