"""RFC 9457 problem details for every error the API answers.

One table maps the core's errors to HTTP; framework errors (unknown route, wrong method,
request validation) get the same shape. Nothing from an exception's internals (SQL, driver
text, input values, stack traces) is ever copied into a response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from todo_api.observability import current_request_id
from todo_api.outages import OutageLog
from todo_api.schemas.problems import PROBLEM_JSON
from todo_api.throttle import TooManyAttempts
from todo_api.tokens import KeysUnavailable
from todo_core import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemType:
    """A kind of problem; `body` is the one place a problem document is assembled (for HTTP
    answers, the body-size middleware and the MCP tools alike)."""

    status: int
    slug: str | None  # None: a plain HTTP status, typed "about:blank"
    title: str

    @classmethod
    def plain(cls, status: int) -> ProblemType:
        return cls(status, None, HTTPStatus(status).phrase)

    @property
    def uri(self) -> str:
        return "about:blank" if self.slug is None else f"urn:todo:problem:{self.slug}"

    def body(
        self, detail: str, *, instance: str | None = None, **extensions: Any
    ) -> dict[str, Any]:
        """The RFC 9457 document (`schemas.problems.Problem` documents its members);
        `extensions` such as `errors` (each failing field) come last."""
        body: dict[str, Any] = {
            "type": self.uri,
            "title": self.title,
            "status": self.status,
            "detail": detail,
        }
        if instance:
            body["instance"] = instance
        body.update(extensions)
        return body


VALIDATION = ProblemType(422, "validation-error", "Invalid input")
TOO_MANY_ATTEMPTS = ProblemType(429, "too-many-attempts", "Too many failed logins")
PAYLOAD_TOO_LARGE = ProblemType(413, "payload-too-large", "Payload too large")
KEYS_UNAVAILABLE = ProblemType(503, "identity-provider-unavailable", "Service unavailable")

# Most specific first: the first matching class wins.
_DOMAIN_PROBLEMS: tuple[tuple[type[errors.TodoError], ProblemType], ...] = (
    (errors.ValidationError, VALIDATION),
    (errors.AuthenticationFailed, ProblemType(401, "unauthenticated", "Not authenticated")),
    (errors.Forbidden, ProblemType(403, "forbidden", "Forbidden")),
    (errors.NotFound, ProblemType(404, "not-found", "Not found")),
    (errors.VersionMismatch, ProblemType(412, "precondition-failed", "Precondition failed")),
    (errors.DuplicateAccount, ProblemType(409, "duplicate-account", "Already registered")),
    (errors.ExternalAccount, ProblemType(409, "external-account", "Account managed elsewhere")),
    (errors.IdentityConflict, ProblemType(409, "identity-conflict", "Account exists")),
    (
        errors.IdempotencyKeyInUse,
        ProblemType(409, "idempotency-key-in-use", "Request with this key in progress"),
    ),
    (
        errors.IdempotencyKeyReused,
        ProblemType(422, "idempotency-key-reused", "Idempotency-Key reused"),
    ),
    (errors.CursorExpired, ProblemType(410, "cursor-expired", "Cursor expired")),
    (errors.Conflict, ProblemType(409, "conflict", "Conflict")),
    (errors.StorageUnavailable, ProblemType(503, "database-unavailable", "Service unavailable")),
    (errors.StorageBusy, ProblemType(503, "busy", "Busy")),
    (errors.StorageError, ProblemType(500, "storage-error", "Internal server error")),
    (errors.TodoError, ProblemType(400, "bad-request", "Bad request")),
)


def problem_response(
    body: dict[str, Any], *, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem document (`ProblemType.body`) as an `application/problem+json` answer, with
    the request's id (the same as its X-Request-ID header and its log lines)."""
    rid = current_request_id()
    if rid is not None:
        body = {**body, "request_id": rid}
    return JSONResponse(body, status_code=body["status"], headers=headers, media_type=PROBLEM_JSON)


def _problem_for(error: errors.TodoError) -> ProblemType:
    return next(problem for kind, problem in _DOMAIN_PROBLEMS if isinstance(error, kind))


def problem_fields(error: errors.TodoError, *, instance: str | None = None) -> dict[str, Any]:
    """The problem document for a core error: what the HTTP API answers (with `instance`), and
    what the MCP tools report (without). A failed batch answers its failing operation's
    problem, with that operation's `index` and `op`."""
    cause = error.cause if isinstance(error, errors.BatchFailed) else error
    problem = _problem_for(cause)
    detail = str(error) if problem.status < 500 or problem.status == 503 else problem.title
    extensions: dict[str, Any] = {}
    if isinstance(cause, errors.ValidationError):
        extensions["errors"] = [{"field": e.field, "message": e.message} for e in cause.errors]
    if isinstance(cause, errors.ExternalAccount):
        extensions["provider"] = cause.provider
    if isinstance(error, errors.BatchFailed):
        extensions.update(index=error.index, op=error.op)
    return problem.body(detail, instance=instance, **extensions)


def validation_fields(
    failures: Iterable[Mapping[str, Any]], *, instance: str | None = None
) -> dict[str, Any]:
    """The problem for input that failed schema validation (pydantic's `errors()` entries)."""
    return VALIDATION.body(
        "The request is invalid; see `errors` for each failing field.",
        instance=instance,
        errors=[
            {"field": ".".join(str(part) for part in failure["loc"]), "message": failure["msg"]}
            for failure in failures
        ],
    )


def _todo_error_handler(outages: OutageLog) -> Callable[[Request, Exception], Any]:
    async def _todo_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, errors.TodoError)
        body = problem_fields(error, instance=request.url.path)
        status = body["status"]
        headers: dict[str, str] = {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if status == 503:
            headers["Retry-After"] = "1" if isinstance(error, errors.StorageBusy) else "2"
        if isinstance(error, errors.StorageError | errors.StorageBusy):
            metrics = getattr(request.app.state, "metrics", None)
            if metrics is not None:
                metrics.db_error(type(error).__name__)
        if isinstance(error, errors.StorageUnavailable | errors.StorageBusy):  # one line each
            outages.report(error, where=f"{request.method} {request.url.path}")
        elif status >= 500:
            log.error("request failed: %s", type(error).__name__, exc_info=error)
        return problem_response(body, headers=headers or None)

    return _todo_error


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return problem_response(validation_fields(error.errors(), instance=request.url.path))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # the framework's only 400s: a body it could not parse
        return _unreadable_body(request)
    headers = dict(error.headers or {})
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if error.status_code == 405:
        # The framework names only the first route that matched the path; RFC 9110 wants
        # every method the resource supports (GET and POST on the task collection).
        headers["Allow"] = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    body = ProblemType.plain(error.status_code).body(detail, instance=request.url.path)
    return problem_response(body, headers=headers or None)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app answers at this path."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def _unreadable_body(request: Request) -> JSONResponse:
    # FastAPI and Starlette answer a body they cannot decode (bytes that are not UTF-8, a
    # multipart form without its boundary) with a bare 400, but malformed JSON with 422:
    # the same client mistake, so one answer, the documented one.
    body = VALIDATION.body(
        "The request body could not be read: it must be UTF-8 JSON (or a form).",
        instance=request.url.path,
        errors=[{"field": "body", "message": "is not valid UTF-8 JSON or form data"}],
    )
    return problem_response(body)


async def _too_many_attempts(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TooManyAttempts)
    body = TOO_MANY_ATTEMPTS.body(str(error), instance=request.url.path)
    return problem_response(body, headers={"Retry-After": str(error.retry_after)})


async def _keys_unavailable(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, KeysUnavailable)
    body = KEYS_UNAVAILABLE.body(
        "The identity provider's keys cannot be fetched right now; try again shortly.",
        instance=request.url.path,
    )
    return problem_response(body, headers={"Retry-After": "5"})


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    body = ProblemType.plain(500).body("An unexpected error occurred.", instance=request.url.path)
    return problem_response(body)


def install(app: FastAPI, *, outages: OutageLog | None = None) -> None:
    """`outages`: where storage outages are logged (tests hand in one on their own clock)."""
    app.add_exception_handler(errors.TodoError, _todo_error_handler(outages or OutageLog(log)))
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(TooManyAttempts, _too_many_attempts)
    app.add_exception_handler(KeysUnavailable, _keys_unavailable)
    app.add_exception_handler(Exception, _unexpected)
