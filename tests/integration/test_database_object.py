"""`PostgresDatabase`: the engine and its connection policy come from one set of options, and
each database object has its own breaker (no state shared on the side)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from todo_core import StorageUnavailable
from todo_core.postgres import EngineOptions, PostgresDatabase

DIRECT = make_url("postgresql+psycopg://u:p@ep-cool-1.eu-central-1.aws.neon.tech/db")
POOLED = make_url("postgresql+psycopg://u:p@ep-cool-1-pooler.eu-central-1.aws.neon.tech/db")


async def test_the_policy_follows_the_endpoint_unless_the_options_say() -> None:
    direct = PostgresDatabase.from_url(DIRECT, EngineOptions())
    pooled = PostgresDatabase.from_url(POOLED, EngineOptions())
    forced = PostgresDatabase.from_url(DIRECT, EngineOptions(pooled=True))
    assert direct.timeout_per_transaction_ms is None  # in the startup options instead
    assert pooled.timeout_per_transaction_ms == forced.timeout_per_transaction_ms == 30_000
    for database in (direct, pooled, forced):
        await database.dispose()


async def test_the_deadline_and_pause_come_from_the_options_or_the_url() -> None:
    options = EngineOptions(connect_timeout=3, circuit_pause=0.5)
    plain = PostgresDatabase.from_url(DIRECT, options)
    given = PostgresDatabase.from_url(DIRECT.update_query_dict({"connect_timeout": "7"}), options)
    assert (plain.guard.deadline, plain.guard.breaker.pause) == (3.0, 0.5)
    assert given.guard.deadline == 7.0
    await plain.dispose()
    await given.dispose()


async def test_a_tripped_breaker_belongs_to_its_own_database_only() -> None:
    tripped = PostgresDatabase.from_url(DIRECT, EngineOptions(circuit_pause=60))
    other = PostgresDatabase.from_url(DIRECT, EngineOptions(circuit_pause=60))
    tripped.guard.breaker.trip()
    with pytest.raises(StorageUnavailable):
        await tripped.enter()  # refused at once, without trying the (unreachable) host
    other.guard.breaker.check()  # closed
    await tripped.dispose()
    await other.dispose()
