"""What operators see: a request id on every answer and log line, structured (JSON lines) logs
with an access log, and Prometheus metrics.

- `X-Request-ID`: kept from the request when it is sane (1-128 characters of `A-Za-z0-9._:-`),
  made (32 hex digits) otherwise; sent back on every response, put in problem bodies
  (`request_id`) and in every log record written while the request runs (a context variable).
- The access log (logger `todo.access`, one record per request): method, route template (never
  the raw path, which holds ids, nor the query, which may hold secrets), status, duration and
  request id. Tokens and passwords travel in headers and bodies, which are never logged.
- Metrics (only when `METRICS_ENABLED`): requests by method, route and status; a latency
  histogram by route; database pool size, in use and waiting; database errors by kind.

All of it is one pure ASGI middleware: no per-route work, so routes added later are covered.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER = REQUEST_ID_HEADER.lower().encode()
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
UNMATCHED = "<unmatched>"  # one label for every unknown path: no unbounded label values

ROUTE_KEY = "todo.route"  # where todo_api.express leaves the template of the route it served
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("todo.access")
log = logging.getLogger("todo.errors")


def current_request_id() -> str | None:
    return request_id.get()


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == _HEADER:
            if _SANE.fullmatch(value):
                return value.decode()
            break
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template, prefixes included (`/api/v1/users/{user_id}/tasks`);
    UNMATCHED when no route matched. FastAPI 0.16x keeps an included router's routes without
    their prefix in scope["route"] and the full template in its effective route context; the
    express lane (todo_api.express) puts its template under ROUTE_KEY."""
    if ROUTE_KEY in scope:
        return str(scope[ROUTE_KEY])
    effective = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(effective, "path_format", None)
    if not (isinstance(path, str) and path):
        path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


@dataclass(frozen=True)
class PoolStats:
    size: int
    in_use: int
    waiting: int


class Metrics:
    """The app's Prometheus collectors, in a registry of its own (several apps in one process,
    as in the tests, never collide)."""

    def __init__(self, pool_stats: Callable[[], PoolStats] | None = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        from prometheus_client.core import GaugeMetricFamily

        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "todo_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "todo_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.db_errors = Counter(
            "todo_db_errors",
            "Database errors that reached a request, by kind.",
            ["kind"],
            registry=self.registry,
        )

        if pool_stats is not None:
            stats = pool_stats

            class _Pool:
                def collect(self) -> Iterable[Any]:
                    now = stats()
                    for name, value, help_ in (
                        ("todo_db_pool_size", now.size, "Connections the pool keeps open."),
                        ("todo_db_pool_in_use", now.in_use, "Connections checked out now."),
                        ("todo_db_pool_waiting", now.waiting, "Requests waiting for one."),
                    ):
                        yield GaugeMetricFamily(name, help_, value=value)

            self.registry.register(_Pool())

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def db_error(self, kind: str) -> None:
        self.db_errors.labels(kind).inc()

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestContext:
    """The outermost middleware: request id, access log, metrics."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics | None, log_access: bool) -> None:
        self.app, self.metrics, self.log_access = app, metrics, log_access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope["headers"])
        token = request_id.set(rid)
        header = (_HEADER, rid.encode())
        started = time.perf_counter()
        status = 500  # what the server answers if the app dies before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        started_response = False

        async def send_tracked(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception:
            # What escaped every handler: logged here, with the request id, and answered here,
            # with the id too (the framework's last-resort 500 would come without it).
            log.exception("unhandled error on %s %s", scope["method"], route_template(scope))
            if started_response:
                raise
            await _internal_error(scope, send_with_id, rid)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, seconds)
            if self.log_access:
                access_log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    route,
                    status,
                    seconds * 1000,
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                    },
                )
            request_id.reset(token)


async def _internal_error(scope: Scope, send: Send, rid: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "An unexpected error occurred.",
            "instance": scope.get("path", ""),
            "request_id": rid,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# Logging: the request id on every record, and JSON lines for production.

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or None outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the record's
    extra fields (the access log's method, route, status, duration_ms)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        entry.update(_extras(vars(record)))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # orjson: a line per request is worth the faster encoder.
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


JsonFormatter.converter = time.gmtime


def _extras(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in _STANDARD and not k.startswith("_")}


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure(level: str, *, json_lines: bool) -> None:
    """The root logger: one stderr handler, the request id filter, text or JSON lines; uvicorn's
    own loggers propagate to it."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
