"""Purging expired idempotency keys and old tombstones in the background, off the request path.

Each round deletes small batches (skipping rows that a request holds) until a batch comes back
short, then sleeps. Several instances may purge at once: they skip each other's rows. A failed
round (the database away) is logged and retried at the next interval; requests never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from todo_core import SyncService, TodoError
from todo_core.services.sync import PURGE_BATCH

log = logging.getLogger("todo.housekeeping")
MAX_BATCHES_PER_ROUND = 100


async def purge_round(sync: SyncService) -> int:
    removed = 0
    for _ in range(MAX_BATCHES_PER_ROUND):
        purged = await sync.purge(batch=PURGE_BATCH)
        removed += purged.keys + purged.tombstones
        if purged.keys < PURGE_BATCH and purged.tombstones < PURGE_BATCH:
            break
    return removed


async def _loop(sync: SyncService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await purge_round(sync)
        except TodoError as error:
            log.warning("purge of expired keys and tombstones failed: %s", type(error).__name__)
        else:
            if removed:
                log.info("purged %d expired idempotency keys and tombstones", removed)


@contextlib.asynccontextmanager
async def running(sync: SyncService, interval: float) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(sync, interval), name="todo-housekeeping")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
