"""The `Idempotency-Key` request header on writes (draft-ietf-httpapi-idempotency-key-header).

A route turns its result into an `Outcome` (status, JSON body, `ETag`/`Location`/`Link`) with
one render function, used both for the first answer and, inside the write's transaction, for
the copy kept under the key. A retry raises `Replayed` in the service, and the handler here
answers the kept copy with `Idempotent-Replayed: true`, so the replay is byte for byte the
original. The fingerprint binds a key to one request: the method, the route with its path
parameters (`me` resolved to the user id), `If-Match`, and the body as canonical JSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping
from typing import Annotated, Any, TypeVar
from uuid import UUID

import orjson
from fastapi import FastAPI, Header, Request, Response
from pydantic import BaseModel

from todo_api.observability import route_template
from todo_api.routes import API_PREFIX
from todo_core import Idempotency, Outcome, Replayed

R = TypeVar("R")

REPLAYED_HEADER = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description=(
            "1 to 255 visible ASCII characters, unique per intended write (e.g. a UUID). A "
            "retry with the same key and request within 24 hours gets the first answer again "
            "with `Idempotent-Replayed: true` and changes nothing; the same key with another "
            "request is 422; a retry while the first is still running is 409."
        ),
        examples=["0b5b0b5e-3f38-4a57-9c55-6f4e2a1f7d10"],
    ),
]


def outcome(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Outcome:
    data = b"" if body is None else orjson.dumps(body)
    return Outcome(status, data, tuple((headers or {}).items()))


def respond(result: Outcome, *, replayed: bool = False) -> Response:
    headers = dict(result.headers)
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    media_type = "application/json" if result.body else None
    return Response(result.body, status_code=result.status, headers=headers, media_type=media_type)


def keyed(
    key: str | None,
    request: Request,
    *,
    owner: UUID,
    render: Callable[[R], Outcome],
    body: BaseModel | None = None,
    if_match: str | None = None,
) -> Idempotency[R] | None:
    """The service's `idempotency` argument for this request, or None without a key."""
    if key is None:
        return None
    params = {**request.path_params, "user_id": str(owner)}
    parts = {
        "method": request.method,
        "route": fingerprint_route(request.scope),
        "params": {name: str(value) for name, value in params.items()},
        "if_match": if_match,
        "body": None if body is None else body.model_dump(mode="json", exclude_unset=True),
    }
    digest = hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return Idempotency(key=key, fingerprint=digest, respond=render)


def fingerprint_route(scope: MutableMapping[str, Any]) -> str:
    """The route part of a key's fingerprint: the route's template below the API prefix
    (`/users/{user_id}/tasks/{task_id}`), as FastAPI's own route object has named it since
    keys were first kept, so a retry spanning a deploy still matches its original. Taken from
    the template the access log names (`observability.route_template`), which the FastAPI
    routes and the express lane both set."""
    return route_template(scope).removeprefix(API_PREFIX)


async def _replayed(request: Request, error: Exception) -> Response:
    assert isinstance(error, Replayed)
    return respond(error.outcome, replayed=True)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Replayed, _replayed)
