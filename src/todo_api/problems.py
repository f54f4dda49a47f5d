"""RFC 9457 problem details for every error the API answers.

One table maps the core's errors to HTTP; framework errors (unknown route, wrong method,
request validation) get the same shape. Nothing from an exception's internals (SQL, driver
text, input values, stack traces) is ever copied into a response.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from todo_api.schemas.problems import PROBLEM_JSON
from todo_api.throttle import TooManyAttempts
from todo_core import errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProblemType:
    status: int
    slug: str
    title: str

    @property
    def uri(self) -> str:
        return f"urn:todo:problem:{self.slug}"


# Most specific first: the first matching class wins.
_DOMAIN_PROBLEMS: tuple[tuple[type[errors.TodoError], ProblemType], ...] = (
    (errors.ValidationError, ProblemType(422, "validation-error", "Invalid input")),
    (errors.AuthenticationFailed, ProblemType(401, "unauthenticated", "Not authenticated")),
    (errors.Forbidden, ProblemType(403, "forbidden", "Forbidden")),
    (errors.NotFound, ProblemType(404, "not-found", "Not found")),
    (errors.VersionMismatch, ProblemType(412, "precondition-failed", "Precondition failed")),
    (errors.DuplicateAccount, ProblemType(409, "duplicate-account", "Already registered")),
    (errors.ExternalAccount, ProblemType(409, "external-account", "Account managed elsewhere")),
    (errors.Conflict, ProblemType(409, "conflict", "Conflict")),
    (errors.StorageUnavailable, ProblemType(503, "database-unavailable", "Service unavailable")),
    (errors.StorageError, ProblemType(500, "storage-error", "Internal server error")),
    (errors.TodoError, ProblemType(400, "bad-request", "Bad request")),
)


def problem_response(
    status: int,
    *,
    detail: str,
    title: str | None = None,
    type_uri: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_uri,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _problem_for(error: errors.TodoError) -> ProblemType:
    return next(problem for kind, problem in _DOMAIN_PROBLEMS if isinstance(error, kind))


def problem_fields(error: errors.TodoError) -> dict[str, Any]:
    """The problem document's members for a core error (all but `instance`): what the HTTP API
    answers, and what the MCP tools report."""
    problem = _problem_for(error)
    fields: dict[str, Any] = {
        "type": problem.uri,
        "title": problem.title,
        "status": problem.status,
        "detail": str(error) if problem.status < 500 or problem.status == 503 else problem.title,
    }
    if isinstance(error, errors.ValidationError):
        fields["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
    if isinstance(error, errors.ExternalAccount):
        fields["provider"] = error.provider
    return fields


def validation_fields(failures: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The problem for input that failed schema validation (pydantic's `errors()` entries)."""
    return {
        "type": "urn:todo:problem:validation-error",
        "title": "Invalid input",
        "status": 422,
        "detail": "The request is invalid; see `errors` for each failing field.",
        "errors": [
            {"field": ".".join(str(part) for part in failure["loc"]), "message": failure["msg"]}
            for failure in failures
        ],
    }


async def _todo_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, errors.TodoError)
    fields = problem_fields(error)
    status = fields.pop("status")
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "2"
    if status >= 500:
        log.error("request failed: %s", type(error).__name__, exc_info=error)
    return problem_response(
        status,
        detail=fields.pop("detail"),
        title=fields.pop("title"),
        type_uri=fields.pop("type"),
        instance=request.url.path,
        headers=headers or None,
        **fields,
    )


async def _request_validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = validation_fields(error.errors())
    return problem_response(
        fields.pop("status"),
        detail=fields.pop("detail"),
        title=fields.pop("title"),
        type_uri=fields.pop("type"),
        instance=request.url.path,
        **fields,
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # the framework's only 400s: a body it could not parse
        return _unreadable_body(request)
    headers = dict(error.headers or {})
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return problem_response(
        error.status_code, detail=detail, instance=request.url.path, headers=headers or None
    )


def _unreadable_body(request: Request) -> JSONResponse:
    # FastAPI and Starlette answer a body they cannot decode (bytes that are not UTF-8, a
    # multipart form without its boundary) with a bare 400, but malformed JSON with 422:
    # the same client mistake, so one answer, the documented one.
    return problem_response(
        422,
        detail="The request body could not be read: it must be UTF-8 JSON (or a form).",
        title="Invalid input",
        type_uri="urn:todo:problem:validation-error",
        instance=request.url.path,
        errors=[{"field": "body", "message": "is not valid UTF-8 JSON or form data"}],
    )


async def _too_many_attempts(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TooManyAttempts)
    return problem_response(
        429,
        detail=str(error),
        title="Too many failed logins",
        type_uri="urn:todo:problem:too-many-attempts",
        instance=request.url.path,
        headers={"Retry-After": str(error.retry_after)},
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(500, detail="An unexpected error occurred.", instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.TodoError, _todo_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(TooManyAttempts, _too_many_attempts)
    app.add_exception_handler(Exception, _unexpected)
