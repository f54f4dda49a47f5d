"""Every task list is index-driven at 100,000 tasks: for every filter and every sort, first
page and deep page, PostgreSQL's plan reads an index of `tasks`, never scans the table, and
never sorts the user's whole set (a sort is allowed only over the few rows a trigram search
matched). Plans are stable where timings are not, so this reads EXPLAIN, not a clock."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.integration.test_listing import FILTERS, SORTS
from tests.support.databases import direct_endpoint, fresh_database
from todo_core import PageCursor, Priority, TaskQuery, TaskSort
from todo_core.postgres import EngineOptions, PostgresDatabase, PostgresUnitOfWorkFactory, migrate

ROWS = 100_000
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# One session; through the Neon rig's pooler (no `-pooler` in its host) the engine must know.
_OPTIONS = EngineOptions(
    pool_size=1, max_overflow=0, pooled=os.environ.get("TEST_DB_POOLED") == "1" or None
)
OWNER = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHERS = [uuid.UUID(f"00000000-0000-4000-8000-00000000000{n}") for n in range(2, 5)]
WORDS = "'{alpha,bravo,charlie,delta,echo,foxtrot,golf,hotel,india,juliet,kilo,lima}'::text[]"

# One user with 100k tasks (three others with 2k each, so `user_id` is not the whole table),
# spread over a year; about 1 in 1,000 mentions "quarterly report", 1 in 700 "50%_done".
_LOAD = f"""
INSERT INTO tasks (id, user_id, title, description, completed, completed_at, priority,
                   due_date, tags, created_at, updated_at)
SELECT gen_random_uuid(), :user_id,
       CASE WHEN n % 1000 = 7 THEN 'Quarterly report ' || n
            WHEN n % 700 = 3 THEN '50%_done ' || n
            ELSE ({WORDS})[1 + (n * 7) % 12] || ' ' || ({WORDS})[1 + (n * 11) % 12] || ' ' || n
       END,
       CASE WHEN n % 3 = 0 THEN NULL
            WHEN n % 1300 = 5 THEN 'draft of the quarterly report'
            ELSE 'notes ' || md5(n::text) END,
       n % 3 = 0, CASE WHEN n % 3 = 0 THEN :created + (n % 997) * interval '1 hour' END,
       (ARRAY['low', 'medium', 'high']::task_priority[])[1 + n % 3],
       CASE WHEN n % 4 = 0 THEN NULL ELSE :created + (n % 500) * interval '1 day' END,
       CASE n % 5 WHEN 0 THEN '{{home}}'::text[] WHEN 1 THEN '{{work}}' WHEN 2 THEN '{{home,work}}'
                  ELSE '{{}}' END,
       :created + n * interval '5 minutes', :created + ((n * 7919) % :rows) * interval '5 minutes'
FROM generate_series(1, :rows) AS n
"""


async def _load(connection: AsyncConnection) -> None:
    for user_id, rows in [(OWNER, ROWS), *((other, 2_000) for other in OTHERS)]:
        await connection.execute(
            text("INSERT INTO users (id, email, password_hash) VALUES (:id, :email, 'x')"),
            {"id": user_id, "email": f"{user_id}@example.com"},
        )
        await connection.execute(
            text(_LOAD),
            {"user_id": user_id, "rows": rows, "created": NOW - timedelta(days=365)},
        )


@pytest.fixture(scope="module")
def loaded_url(postgres_server_url: URL) -> Iterator[URL]:
    with fresh_database(postgres_server_url, prefix="todo_plans") as url:

        async def prepare() -> None:
            await migrate.upgrade(direct_endpoint(url))
            # No statement timeout: on a loaded machine (CI, 2 cores) the 100k-row insert with
            # its indexes may take longer than the app's 30 s.
            loader = dataclasses.replace(_OPTIONS, statement_timeout_ms=0)
            database = PostgresDatabase.from_url(url, loader)
            try:
                async with database.engine.begin() as connection:
                    await _load(connection)
                async with database.engine.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    # Statistics from every row, not a random sample of 30,000: the same plans
                    # on every run (a sample once tipped one deep page into a sort of 371 rows).
                    await connection.execute(text("SET default_statistics_target = 1000"))
                    await connection.execute(text("VACUUM ANALYZE tasks"))
                    await connection.execute(text("ANALYZE users"))
            finally:
                await database.dispose()

        asyncio.run(prepare())
        yield url


@pytest.fixture
async def loaded(loaded_url: URL) -> AsyncIterator[PostgresDatabase]:
    database = PostgresDatabase.from_url(loaded_url, _OPTIONS)
    try:
        yield database
    finally:
        await database.dispose()


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def list_plan(database: PostgresDatabase, query: TaskQuery) -> tuple[dict[str, Any], Any]:
    """The plan of the statement the repository really sends for this page, and the page."""
    engine = database.engine
    with captured(engine) as statements:
        async with PostgresUnitOfWorkFactory(database)(read_only=True) as work:
            page = await work.tasks.list(user_id=OWNER, query=query, now=NOW)
    (statement, parameters), *_ = [s for s in statements if "FROM tasks" in s[0]]
    async with engine.connect() as connection:
        result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = result.scalar_one()[0]["Plan"]
    return plan, page


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def problems(plan: dict[str, Any]) -> list[str]:
    """What makes this plan not index-driven, as readable lines (empty when it is)."""
    found = []
    on_tasks = [node for node in nodes(plan) if node.get("Relation Name") == "tasks"]
    indexes = {node["Index Name"] for node in nodes(plan) if "Index Name" in node}
    if any(node["Node Type"] == "Seq Scan" for node in on_tasks):
        found.append("sequential scan of tasks")
    if not any(name.startswith("ix_tasks_") or name == "pk_tasks" for name in indexes):
        found.append("no index of tasks")
    for node in nodes(plan):
        if node["Node Type"] in ("Sort", "Incremental Sort"):
            below = {n.get("Index Name", "") for n in nodes(node)}
            if not any(name.endswith("_trgm") for name in below):
                kind, rows, key = node["Node Type"], node["Plan Rows"], node["Sort Key"]
                found.append(f"{kind} of {rows} rows by {key}")
    return found


QUERIES = [(sort, filters) for sort in SORTS for filters in FILTERS]


@pytest.mark.parametrize(
    ("sort", "filters"), QUERIES, ids=[f"{s}|{','.join(f) or '-'}" for s, f in QUERIES]
)
async def test_every_list_query_is_index_driven(
    loaded: PostgresDatabase, sort: str, filters: dict[str, Any]
) -> None:
    order = TaskSort.parse(sort)
    first, page = await list_plan(loaded, TaskQuery(sort=order, limit=20, **filters))
    assert problems(first) == [], first
    if page.next_cursor is None:
        return
    cursor = PageCursor.decode(page.next_cursor.encode(), order)
    deep, _ = await list_plan(loaded, TaskQuery(sort=order, limit=20, cursor=cursor, **filters))
    assert problems(deep) == [], deep


async def test_text_search_reads_the_trigram_indexes(loaded: PostgresDatabase) -> None:
    plan, page = await list_plan(loaded, TaskQuery(text="quarterly report", limit=100))
    used = {node.get("Index Name") for node in nodes(plan)}
    assert {"ix_tasks_title_trgm", "ix_tasks_description_trgm"} <= used, plan
    assert len(page.items) == 100
    assert all("quarterly report" in f"{t.title} {t.description}".lower() for t in page.items)


async def test_the_fixture_holds_what_the_plans_assume(loaded: PostgresDatabase) -> None:
    async with loaded.engine.connect() as connection:
        counts = await connection.execute(
            text("SELECT count(*) FILTER (WHERE user_id = :owner), count(*) FROM tasks"),
            {"owner": OWNER},
        )
        assert tuple(counts.one()) == (ROWS, ROWS + 2_000 * len(OTHERS))
    assert Priority.HIGH.value == "high"
