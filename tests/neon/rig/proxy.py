"""A cold start in miniature: a loopback TCP proxy that, once suspended, holds the first new
connection for `wake_seconds` (Neon's proxy waking a compute), and everyone arriving meanwhile
with it. It runs its own event loop in a thread, so the app under test shares nothing with it.

Suspending also cuts every connection through it, as a suspending compute does to its clients.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Self

_CHUNK = 65536


class ColdStartProxy:
    def __init__(self, upstream_port: int, *, wake_seconds: float = 3.0) -> None:
        self.upstream_port = upstream_port
        self.wake_seconds = wake_seconds
        self.port = 0
        self.wakes = 0
        self._asleep = True
        self._waking: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cold-start-proxy", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(timeout=10)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._call(self._cut_all)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def suspend(self) -> None:
        """Cut every connection; the next one waits `wake_seconds`."""
        self._call(self._cut_all)

    def _call(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def _cut_all(self) -> None:
        self._asleep = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._awake()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _awake(self) -> None:
        if self._asleep and self._waking is None:
            self._waking = asyncio.create_task(self._wake())
        if self._waking is not None:
            await asyncio.shield(self._waking)

    async def _wake(self) -> None:
        await asyncio.sleep(self.wake_seconds)
        self._asleep, self._waking = False, None
        self.wakes += 1


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(_CHUNK):
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        sink.transport.abort()
