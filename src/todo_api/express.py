"""The express lane: the task routes' plainest requests, answered without FastAPI's
per-request machinery.

For a task read, FastAPI's route resolution, dependency solving, `Request` and response
wrappers cost about 40% of the request's CPU: more than the database round trip. This
middleware (the innermost) recognises the requests that make most of the traffic, in their
plainest shape, and calls the very same route functions (`todo_api.routes.tasks` and, for
the compatibility surface, `todo_api.routes.compat`) with the arguments FastAPI would pass:

    /api/v1/users/{user_id}/tasks             GET (limit, cursor, sort), POST (Idempotency-Key)
    /api/v1/users/{user_id}/tasks/{task_id}   GET, PATCH, DELETE (If-Match, Idempotency-Key)
    /api/{user_id}/tasks                      GET (limit, cursor, sort), POST
    /api/{user_id}/tasks/{id}                 GET, PUT, DELETE (If-Match)
    /api/{user_id}/tasks/{id}/complete        PATCH (If-Match)

It only reads what is unambiguous: a bearer token, a `{user_id}` and a canonical `{task_id}`
that FastAPI would accept as they are, a JSON body that the route's own pydantic model accepts,
list parameters among those three, an `Idempotency-Key` the route's declaration accepts (its
fingerprint names the same route template either way: `idempotency.fingerprint_route`).
Anything else (a body, query or header FastAPI would have to judge, a mounted root path, an app
whose `dependency_overrides` are set, a request FastAPI's native OpenTelemetry observes) is
declined before anything has happened, and the request goes on to FastAPI unchanged, a body
already read replayed. So the FastAPI routes stay the one definition of what is valid and of
every validation error, and the OpenAPI document stays true; what the service raises is
answered by the app's own exception handlers, as on the FastAPI path.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints
from urllib.parse import parse_qsl
from uuid import UUID

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError

from todo_api.deps import USER_REF_PATTERN, Caller, caller_for
from todo_api.middleware import ASGIApp, Message, Receive, Scope, Send
from todo_api.observability import ROUTE_KEY
from todo_api.routes import API_PREFIX, compat
from todo_api.routes import tasks as routes
from todo_api.routes.params import task_query
from todo_api.schemas.tasks import TaskCreate, TaskPatch, TaskReplace

_HEX = "[0-9A-Fa-f]"
_USER = rf"(?P<user_id>{USER_REF_PATTERN.strip('^$')})"
_ID = rf"(?P<task_id>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
_V1 = re.compile(rf"{re.escape(API_PREFIX)}/users/{_USER}/tasks(?:/{_ID})?")
_V1_START = f"{API_PREFIX}/"
_COMPAT = re.compile(rf"/api/{_USER}/tasks(?:/{_ID}(?P<complete>/complete)?)?")
# The list parameters the lane reads, each checked by the route's own declaration (type and
# bounds), as FastAPI checks it: a change there cannot leave the lane accepting more.
_LIST_PARAMETERS = {
    name: TypeAdapter(hint)
    for name, hint in get_type_hints(task_query, include_extras=True).items()
    if name in ("limit", "cursor", "sort")
}
# Likewise the Idempotency-Key header, as the v1 write routes declare it.
_IDEMPOTENCY_KEY: TypeAdapter[str | None] = TypeAdapter(
    get_type_hints(routes.create_task, include_extras=True)["idempotency_key"]
)

M = TypeVar("M", bound=BaseModel)
Action = Callable[[Caller], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a request is: which surface, which method, on what path."""

    compat: bool
    method: str
    path: str  # "list", "task" or "complete"


# Each shape served, and the route template it is logged and counted under (FastAPI's name).
_V1_LIST = f"{API_PREFIX}/users/{{user_id}}/tasks"
_COMPAT_LIST = "/api/{user_id}/tasks"
_TEMPLATES = {
    _Shape(False, "GET", "list"): _V1_LIST,
    _Shape(False, "POST", "list"): _V1_LIST,
    _Shape(False, "GET", "task"): f"{_V1_LIST}/{{task_id}}",
    _Shape(False, "PATCH", "task"): f"{_V1_LIST}/{{task_id}}",
    _Shape(False, "DELETE", "task"): f"{_V1_LIST}/{{task_id}}",
    _Shape(True, "GET", "list"): _COMPAT_LIST,
    _Shape(True, "POST", "list"): _COMPAT_LIST,
    _Shape(True, "GET", "task"): f"{_COMPAT_LIST}/{{id}}",
    _Shape(True, "PUT", "task"): f"{_COMPAT_LIST}/{{id}}",
    _Shape(True, "DELETE", "task"): f"{_COMPAT_LIST}/{{id}}",
    _Shape(True, "PATCH", "complete"): f"{_COMPAT_LIST}/{{id}}/complete",
}


class _DeclinedError(Exception):
    """This request is not for the express lane: FastAPI answers it."""


class ExpressLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._handlers: dict[Any, Callable[..., Awaitable[Response]]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        recognised = _recognised(scope)
        if recognised is None:
            await self.app(scope, receive, send)
            return
        shape, match = recognised
        request = _Request(scope, receive)
        try:
            token, action = await _read(scope, request, shape, match)
        except _DeclinedError:
            await self.app(scope, request.replay, send)
            return
        scope["path_params"] = _path_params(shape, match)
        scope[ROUTE_KEY] = _TEMPLATES[shape]
        try:
            # The token first, as FastAPI solves the routes' dependencies: no token, no answer.
            caller = await caller_for(request, user_ref=match["user_id"], token=token)
            response = await action(caller)
        except Exception as error:
            handler = self._handler_for(scope, error)
            if handler is None:
                raise  # what FastAPI leaves unhandled too: RequestContext answers the 500
            response = await handler(request, error)
        await response(scope, receive, send)

    def _handler_for(
        self, scope: Scope, error: Exception
    ) -> Callable[..., Awaitable[Response]] | None:
        """The app's handler for `error`, looked up as Starlette's ExceptionMiddleware does (by
        class, most specific first; a handler for `Exception` itself is the outer layers')."""
        if self._handlers is None:
            self._handlers = dict(scope["app"].exception_handlers)
        for cls in type(error).__mro__:
            if cls is Exception:
                break
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return None


class _Request(Request):
    """A request whose body, once read here, is handed on to FastAPI as it came."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        super().__init__(scope, receive)
        self._messages: list[Message] = []

    async def read_body(self) -> bytes:
        chunks = []
        while True:
            message = await self._receive()
            self._messages.append(message)
            if message["type"] != "http.request":
                raise _DeclinedError  # a disconnect: FastAPI's own reading decides what it means
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def replay(self) -> Message:
        if self._messages:
            return self._messages.pop(0)
        return await self._receive()


def _recognised(scope: Scope) -> tuple[_Shape, re.Match[str]] | None:
    # A mounted root path, or dependencies overridden (a test's fake token check, say): the
    # FastAPI routes honour those, so they answer. So they do a request FastAPI's native
    # OpenTelemetry observes (it is configured): its span's route and the endpoint's span come
    # from FastAPI's routing.
    if (
        scope["type"] != "http"
        or scope.get("root_path")
        or scope["app"].dependency_overrides
        or scope.get("fastapi.telemetry") is not None
    ):
        return None
    path: str = scope["path"]
    compat = not path.startswith(_V1_START)
    match = (_COMPAT if compat else _V1).fullmatch(path)
    if match is None:
        return None
    on = "list" if match["task_id"] is None else "task"
    if compat and match["complete"]:
        on = "complete"
    shape = _Shape(compat, scope["method"], on)
    return (shape, match) if shape in _TEMPLATES else None


def _path_params(shape: _Shape, match: re.Match[str]) -> dict[str, str]:
    params = {"user_id": match["user_id"]}
    if match["task_id"] is not None:
        params["id" if shape.compat else "task_id"] = match["task_id"]
    return params


async def _read(
    scope: Scope, request: _Request, shape: _Shape, match: re.Match[str]
) -> tuple[str, Action]:
    """The token, and the route call this request makes with the arguments FastAPI would
    pass; `_DeclinedError` for anything FastAPI should judge itself. Nothing happens here."""
    headers = _headers(scope)
    token = _bearer(headers.get(b"authorization"))
    method, v1 = shape.method, not shape.compat
    # Read by the v1 writes only: the reads and the compatibility routes do not declare it.
    key = _idempotency_key(headers.get(b"idempotency-key")) if v1 and method != "GET" else None
    if shape.path == "list":
        if method == "POST":
            create = _body(TaskCreate, headers, await request.read_body())
            if v1:
                return token, lambda caller: routes.create_task(
                    caller, request, body=create, idempotency_key=key
                )
            return token, lambda caller: compat.compat_create_task(caller, body=create)
        parameters = _list_parameters(scope["query_string"])
        listing = routes.list_tasks if v1 else compat.compat_list_tasks

        async def list_tasks(caller: Caller) -> Response:
            query = await task_query(**parameters)
            return await listing(caller, request, query=query)

        return token, list_tasks
    task = UUID(match["task_id"])
    if method == "GET":
        if v1:
            return token, lambda caller: routes.get_task(caller, task_id=task)
        return token, lambda caller: compat.compat_get_task(caller, id=task)
    if_match = _text(headers.get(b"if-match"))
    if method == "DELETE":
        if v1:
            return token, lambda caller: routes.delete_task(
                caller, request, task_id=task, if_match=if_match, idempotency_key=key
            )
        return token, lambda caller: compat.compat_delete_task(caller, id=task, if_match=if_match)
    if shape.path == "complete":  # PATCH .../complete: no body is read, as FastAPI reads none
        return token, lambda caller: compat.compat_toggle_task(caller, id=task, if_match=if_match)
    if v1:
        patch = _body(TaskPatch, headers, await request.read_body())
        return token, lambda caller: routes.update_task(
            caller, request, task_id=task, body=patch, if_match=if_match, idempotency_key=key
        )
    replacement = _body(TaskReplace, headers, await request.read_body())
    return token, lambda caller: compat.compat_replace_task(
        caller, id=task, body=replacement, if_match=if_match
    )


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The first value of each header, as Starlette's `Headers.get` reads it."""
    found: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        found.setdefault(name, value)
    return found


def _bearer(value: bytes | None) -> str:
    # `Bearer <token>` exactly; a missing or odd header is FastAPI's to answer (401).
    token = _text(value[7:]) if value is not None and value.startswith(b"Bearer ") else None
    if not token or token != token.strip():
        raise _DeclinedError
    return token


def _text(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise _DeclinedError from None


def _idempotency_key(value: bytes | None) -> str | None:
    if value is None:
        return None
    try:  # Starlette reads header values as latin-1
        return _IDEMPOTENCY_KEY.validate_python(value.decode("latin-1"))
    except ValidationError:
        raise _DeclinedError from None


def _list_parameters(query_string: bytes) -> dict[str, Any]:
    """limit, cursor and sort, each at most once and as the route declares them."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    parameters = dict(pairs)
    if len(parameters) != len(pairs) or not parameters.keys() <= _LIST_PARAMETERS.keys():
        raise _DeclinedError
    if "" in parameters.values():  # how FastAPI reads an empty value is its own business
        raise _DeclinedError
    try:
        return {name: _LIST_PARAMETERS[name].validate_python(v) for name, v in parameters.items()}
    except ValidationError:
        raise _DeclinedError from None


def _body(model: type[M], headers: dict[bytes, bytes], body: bytes) -> M:
    """The JSON body as the route's model, when FastAPI would read it as JSON and accept it."""
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type != b"application/json" or not body:
        raise _DeclinedError
    try:
        return model.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError):
        raise _DeclinedError from None
