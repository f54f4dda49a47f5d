"""The problem-details body, for the OpenAPI document of every route's error answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


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


_DESCRIPTIONS = {
    400: "Bad request",
    401: "Missing, invalid or expired token, or wrong credentials",
    403: "The path names another user",
    404: "No such task (or it is another user's)",
    409: "Email or username already registered",
    412: "If-Match does not match the current ETag",
    413: "Request body too large",
    422: "Invalid input; `errors` lists each failing field",
    429: "Too many failed logins; see Retry-After",
    503: "The database is unavailable",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses (503 is added to every route: any route may
    find the database down)."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS[status],
            "content": {"application/problem+json": {}},
        }
        for status in sorted({*statuses, 503})
    }
