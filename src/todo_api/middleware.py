"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on every request): a request body
limit answered with a 413 problem, and security headers fit for a JSON API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from todo_api.problems import PAYLOAD_TOO_LARGE, problem_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class _BodyTooLargeError(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(scope, send, self.max_bytes)
            return
        await _LimitedRequest(scope, receive, send, self.max_bytes).run(self.app)


class _LimitedRequest:
    """One request whose body is counted as it streams in (chunked bodies declare no size)."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self.scope, self._receive, self._send, self.limit = scope, receive, send, limit
        self.received = 0
        self.exceeded = False
        self.started = False

    async def run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self.receive, self.send)
        except _BodyTooLargeError:
            if not self.started:
                self.started = True
                await _too_large(self.scope, self._send, self.limit)

    async def receive(self) -> Message:
        message = await self._receive()
        self.received += len(message.get("body", b""))
        if self.received > self.limit:
            self.exceeded = True
            raise _BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        # The framework may catch our error while reading the body and answer something of
        # its own (a 400 or 422): once the limit is crossed, the answer is the 413.
        if message["type"] == "http.response.start":
            if self.started:
                return
            self.started = True
            if self.exceeded:
                await _too_large(self.scope, self._send, self.limit)
                return
        if not self.exceeded:
            await self._send(message)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    detail = f"The request body exceeds the limit of {limit} bytes."
    response = problem_response(PAYLOAD_TOO_LARGE.body(detail, instance=scope.get("path", "")))
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def _secured(headers: list[tuple[bytes, bytes]], *, https: bool) -> list[tuple[bytes, bytes]]:
    names = {name.lower() for name, _ in headers}
    content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    extra = list(_SECURITY_HEADERS)
    if b"cache-control" not in names:
        extra.append((b"cache-control", b"no-store"))  # answers are per user: no shared caches
    if not content_type.startswith(b"text/html"):
        # JSON is never a page: nothing may load or frame it. (The /docs page needs scripts.)
        extra.append((b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"))
    if https:  # only over TLS, as the header itself demands
        extra.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
    return headers + extra


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _secured(list(message.get("headers", [])), https=https)
            await send(message)

        await self.app(scope, receive, with_headers)
