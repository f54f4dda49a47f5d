"""Scenario 6 and the pooler's rules: prepared-statement-heavy load through PgBouncer in
transaction mode gives zero errors (and, as a control, psycopg's automatic prepared statements
do break there); the statement timeout holds through the pooler without leaking."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from tests.neon.app import TASKS, RunningApp
from tests.support.databases import libpq_dsn
from todo_core.postgres import EngineOptions, PostgresDatabase

CLIENTS, ROUNDS = 20, 15  # each statement runs far more than psycopg's 5 before preparing


async def test_prepared_statement_heavy_load_through_the_pooler_has_no_errors(
    pooled_app: RunningApp,
) -> None:
    users = [await pooled_app.sign_up() for _ in range(CLIENTS)]

    async def busy(headers: dict[str, str]) -> list[int]:
        client, statuses = pooled_app.client, []
        for number in range(ROUNDS):
            created = await client.post(TASKS, json={"title": f"t{number}"}, headers=headers)
            task = f"{TASKS}/{created.json()['id']}" if created.status_code == 201 else TASKS
            fetched = await client.get(task, headers=headers)
            listed = await client.get(TASKS, headers=headers)
            statuses += [created.status_code, fetched.status_code, listed.status_code]
        return statuses

    statuses = [s for each in await asyncio.gather(*map(busy, users)) for s in each]
    assert len(statuses) == CLIENTS * ROUNDS * 3
    assert set(statuses) <= {200, 201}, sorted(set(statuses))


def test_automatic_prepared_statements_break_through_the_pooler(pooled: URL) -> None:
    # The control: what `prepare_threshold=None` prevents. Clients take turns on the pooler's
    # server connections, so one finds another's `_pg3_0` there (or misses its own).
    clients = [psycopg.connect(libpq_dsn(pooled), prepare_threshold=0) for _ in range(3)]
    failures = 0
    try:
        for number in range(10):
            for client in clients:
                try:
                    with client.transaction():
                        client.execute("SELECT %s::int + 1", [number]).fetchone()
                except psycopg.errors.DuplicatePreparedStatement:
                    failures += 1
                except psycopg.errors.InvalidSqlStatementName:
                    failures += 1
    finally:
        for client in clients:
            client.close()
    assert failures > 0


async def test_the_statement_timeout_holds_through_the_pooler_and_does_not_leak(
    pooled: URL,
) -> None:
    database = PostgresDatabase.from_url(
        pooled, EngineOptions(pooled=True, statement_timeout_ms=200)
    )
    try:
        async with database.engine.connect() as connection:
            with pytest.raises(Exception, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await database.dispose()
    # A client without the app's settings, on the same server connections: the server default.
    with psycopg.connect(libpq_dsn(pooled), prepare_threshold=None) as other:
        assert other.execute("SHOW statement_timeout").fetchone() == ("0",)
