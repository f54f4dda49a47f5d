"""Work that runs after the answer, detached from the request (so neither an in-process
client nor a slow database makes the answer wait), and is awaited at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec

from todo_core import TodoError

log = logging.getLogger("todo.background")
P = ParamSpec("P")


class BackgroundWork:
    def __init__(self, *, shutdown_timeout: float = 30.0) -> None:
        self._pending: set[asyncio.Task[None]] = set()
        self._timeout = shutdown_timeout

    def spawn(
        self, what: str, work: Callable[P, Awaitable[None]], *args: P.args, **kwargs: P.kwargs
    ) -> None:
        async def run() -> None:
            try:
                await work(*args, **kwargs)
            except TodoError as error:  # expected failures (database down): a line, no trace
                log.warning("%s failed: %s", what, type(error).__name__)
            except Exception:
                log.exception("%s failed", what)

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self._timeout)
