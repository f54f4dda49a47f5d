"""The first connection at start: production retries with backoff (a Neon compute may be
waking from suspend), development fails at once so mistakes show immediately."""

from __future__ import annotations

import logging

from sqlalchemy import text
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from todo_core.errors import StorageUnavailable
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.translate import storage_errors

log = logging.getLogger("todo.database")


async def wait_for_database(
    database: PostgresDatabase, *, attempts: int, shown_url: str, max_wait: float = 8.0
) -> None:
    """Run `SELECT 1`, trying up to `attempts` times; raise StorageUnavailable at the end."""

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "database %s not reachable (attempt %d of %d): %s",
            shown_url,
            state.attempt_number,
            attempts,
            _reason(error),
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.5, max=max_wait),
        retry=retry_if_exception_type(StorageUnavailable),
        after=report,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            await _ping(database)
    log.info("database %s reachable", shown_url)


async def _ping(database: PostgresDatabase) -> None:
    # Bounded like every unit of work: through a pooler a dead database means a silent queue.
    connection = await database.connect_once()
    try:
        with storage_errors():
            await connection.execute(text("SELECT 1"))
    finally:
        await connection.close()


def _reason(error: BaseException | None) -> str:
    # The driver's own words name the cause (refused, timeout, bad password) without secrets;
    # they go to the operator's log only, never to a client.
    cause = error.__cause__ if error is not None else None
    original = getattr(cause, "orig", None) or cause
    return str(original).strip().splitlines()[0] if original else type(error).__name__
