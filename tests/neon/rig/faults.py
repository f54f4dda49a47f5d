"""The faults of a serverless compute, as the scenarios call them."""

from __future__ import annotations

from tests.neon.rig import pgbouncer, postgres
from tests.neon.rig.state import RigState


def suspend(state: RigState) -> int:
    """A compute suspending: every backend is terminated (57P01) and, since Neon's PgBouncer
    lives in the compute, every client connection to the pooler is cut too. Returns how many
    backends were terminated."""
    terminated = postgres.suspend(state)
    pgbouncer.restart(state)
    return terminated


def restart(state: RigState) -> None:
    postgres.restart(state)


def stop(state: RigState) -> None:
    postgres.stop(state)


def start(state: RigState) -> None:
    postgres.start(state)
