"""The problem-details body, for the OpenAPI document of every route's error answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] | None = None
    provider: str | None = None  # external accounts: where they sign in
    index: int | None = Field(
        default=None, description="Batches: the 0-based index of the operation that failed"
    )
    op: str | None = Field(default=None, description="Batches: that operation's `op`")
    request_id: str | None = None  # as in the X-Request-ID response header and the logs


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired token, or wrong credentials",
    403: "The path names another user",
    404: "No such task (or it is another user's)",
    409: "Email or username already registered, or the account signs in through an external "
    "identity provider and has no password here (`provider` names it); or, signed in through "
    "the external issuer, the token's email belongs to an account it may not take over; or a "
    "request with this Idempotency-Key is still running",
    410: "The change-feed cursor is older than the tombstone retention: sync without a cursor",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    422: "Invalid input (`errors` lists each failing field), or an Idempotency-Key reused for "
    "another request",
    429: "Too many failed attempts; see Retry-After",
    503: (
        "The database (or the external issuer's JWKS, for a token with an unknown key) is"
        " unavailable (`database-unavailable`), or busy (`busy`: the task stayed locked by"
        " other writers, or no connection freed up, within the bounded wait); retry after"
        " `Retry-After` seconds"
    ),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses (413 and 503 are added to every route: any
    request may carry too large a body, and any route may find the database down; 409 to
    every route that authenticates (401): an external identity may not be linkable)."""
    extra = {409} if 401 in statuses else set()
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {}},
        }
        for status in sorted({*statuses, *extra, 413, 503})
    }


def move_problems_to_problem_json(openapi: dict[str, Any]) -> dict[str, Any]:
    """FastAPI files a response `model` under the route's own media type (application/json)
    and leaves the declared `application/problem+json` empty; error answers are sent as
    problem+json only, so the schema moves there and the wrong media type goes."""
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if content.get(PROBLEM_JSON) == {} and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return openapi
