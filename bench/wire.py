"""A loopback TCP proxy in front of PostgreSQL that reads the wire protocol as it passes.

- WAN in miniature: every chunk is held `delay` seconds in each direction (so a round trip
  costs `2 * delay` more), order and throughput untouched.
- A witness: it counts the client's round trips (a batch of messages sent while no answer is
  outstanding: pipelined statements share one), the statements it executes (the SQL of each
  Execute or simple Query) and the sessions opened, without asking the server anything.

It runs its own event loop in a thread, so the app under test shares nothing with it. TLS is
not readable: connect with `sslmode=disable` (the loopback bench and the tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

_CHUNK = 65536
_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104


@dataclass
class Tally:
    """What crossed the wire since the last `reset()`."""

    round_trips: int = 0
    statements: list[str] = field(default_factory=list)
    sessions: int = 0


@dataclass
class _Session:
    """One client connection's protocol state."""

    tally: Tally
    lock: threading.Lock
    outstanding: int = 0  # Syncs and simple Queries sent, not yet answered by ReadyForQuery
    ready: bool = False  # past authentication (the first ReadyForQuery)
    started: bool = False  # the startup packet has been read
    prepared: dict[bytes, str] = field(default_factory=dict)
    portals: dict[bytes, str] = field(default_factory=dict)
    up: bytearray = field(default_factory=bytearray)
    down: bytearray = field(default_factory=bytearray)

    def from_client(self, data: bytes) -> None:
        self.up += data
        while (message := self._next(self.up, startup=not self.started)) is not None:
            kind, body = message
            if kind == b"":
                code = struct.unpack("!i", body[:4])[0] if len(body) >= 4 else 0
                self.started = code not in (_SSL_REQUEST, _GSS_REQUEST)
                continue
            self._client_message(kind, body)

    def _client_message(self, kind: bytes, body: bytes) -> None:
        if not self.ready:
            return  # authentication
        with self.lock:
            if kind in (b"S", b"Q") and self.outstanding == 0:
                self.tally.round_trips += 1
            if kind in (b"S", b"Q"):
                self.outstanding += 1
            if kind == b"Q":
                self.tally.statements.append(_text(body))
            elif kind == b"P":
                name, rest = body.split(b"\0", 1)
                self.prepared[name] = _text(rest)
            elif kind == b"B":
                portal, rest = body.split(b"\0", 1)
                self.portals[portal] = self.prepared.get(rest.split(b"\0", 1)[0], "?")
            elif kind == b"E":
                self.tally.statements.append(self.portals.get(body.split(b"\0", 1)[0], "?"))

    def from_server(self, data: bytes) -> None:
        self.down += data
        while (message := self._next(self.down, startup=False)) is not None:
            if message[0] != b"Z":
                continue
            with self.lock:
                if not self.ready:
                    self.ready = True
                    self.tally.sessions += 1
                else:
                    self.outstanding = max(0, self.outstanding - 1)

    def _next(self, buffer: bytearray, *, startup: bool) -> tuple[bytes, bytes] | None:
        answer = bytes(buffer[:1])
        if not startup and not self.started and buffer is self.down and answer in (b"N", b"S"):
            del buffer[:1]  # the one-byte answer to an SSLRequest
            return None
        head = 4 if startup else 5
        if len(buffer) < head:
            return None
        length = struct.unpack("!i", buffer[head - 4 : head])[0]
        end = head - 4 + length
        if len(buffer) < end:
            return None
        kind = b"" if startup else bytes(buffer[:1])
        body = bytes(buffer[head:end])
        del buffer[:end]
        return kind, body


def _text(body: bytes) -> str:
    return body.split(b"\0", 1)[0].decode(errors="replace").strip()


class WireProxy:
    """`with WireProxy(upstream) as proxy:` then connect to 127.0.0.1:`proxy.port`.

    `upstream` is a (host, port) pair or the path of a Unix socket (`.s.PGSQL.<port>`)."""

    def __init__(self, upstream: tuple[str, int] | Path, *, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay  # seconds, each direction
        self.port = 0
        self._tally = Tally()
        self._lock = threading.Lock()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wire-proxy", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the wire proxy did not start")
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

    def reset(self) -> Tally:
        """The tally so far, and a fresh one from now on."""
        with self._lock:
            tally, self._tally = self._tally, Tally()
        return tally

    def cut_all(self) -> None:
        """Drop every connection through the proxy (a suspend, seen from the client)."""
        self._call(self._cut_all)

    def _call(self, action: Callable[[], None]) -> None:
        async def run() -> None:
            action()

        asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def _cut_all(self) -> None:
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
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if isinstance(self.upstream, Path):
                up_reader, up_writer = await asyncio.open_unix_connection(str(self.upstream))
            else:
                up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        session = _Session(tally=self._tally, lock=self._lock)
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, lambda data: self._see(session, data, up=True)),
            self._pipe(up_reader, writer, lambda data: self._see(session, data, up=False)),
        )
        self._writers -= {writer, up_writer}

    def _see(self, session: _Session, data: bytes, *, up: bool) -> None:
        session.tally = self._tally  # the current tally (reset() swaps it)
        # A witness never breaks the conversation it watches.
        with contextlib.suppress(struct.error, ValueError, IndexError):
            (session.from_client if up else session.from_server)(data)

    async def _pipe(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        see: Callable[[bytes], None],
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._send_later(queue, sink))
        try:
            while chunk := await source.read(_CHUNK):
                see(chunk)
                if self.delay:
                    queue.put_nowait((time.monotonic() + self.delay, chunk))
                else:
                    sink.write(chunk)
                    await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            queue.put_nowait((0.0, b""))
            await asyncio.gather(sender, return_exceptions=True)
            sink.transport.abort()

    @staticmethod
    async def _send_later(
        queue: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                return
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            sink.write(chunk)
            await sink.drain()
