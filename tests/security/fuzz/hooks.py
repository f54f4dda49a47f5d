"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS): one extra check on every response."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import schemathesis

from tests.security.leaks import leaks

# The driver passes the run's JWT secret and database password, so a leak of either fails.
_SECRETS = [value for value in os.environ.get("FUZZ_SECRETS", "").split("\n") if value]


@schemathesis.check
def no_internals_in_responses(ctx: Any, response: Any, case: Any) -> bool:
    """No stack trace, SQL, driver text, password hash or secret in any body or header."""
    text = response.content.decode("utf-8", errors="replace")
    text += "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    found = leaks(text, _SECRETS)
    if found:
        raise AssertionError(f"the response leaks internals: {found}")
    return True


_OWN_ID = os.environ.get("FUZZ_USER_ID")


@schemathesis.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> Any:
    """With a token, a well-formed but random `user_id` (a UUID, or any id an external
    issuer might use) would only ever meet 403; most of them become the user's own id, so the
    fuzzer reaches the handlers behind the check, on /api/v1 and the compatibility surface."""
    if not path_parameters:  # operations without path parameters get None
        return path_parameters
    value = path_parameters.get("user_id")
    valid = isinstance(value, str) and _USER_REF.fullmatch(value) is not None
    # A schema-invalid id stays as generated: it is a negative test, and must be refused.
    if _OWN_ID and valid and value[-1] not in "0123":
        path_parameters["user_id"] = _OWN_ID if _is_uuid(value) or len(value) % 2 else "me"
    return path_parameters


_USER_REF = re.compile(r"[A-Za-z0-9._~:@|+=-]{1,255}")  # the paths' `user_id` pattern


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


# Rules the schema cannot state (it states every rule about one field that JSON Schema can):
# they are documented, and every request (all phases) is made to respect them just before it
# is sent, so that "a schema-valid request is accepted" (positive_data_acceptance) tests what
# the schema says. Each change keeps whatever made a request schema-invalid.
_FUTURE = "2100-01-01T00:00:00Z"
_CURSOR_MAX = 2048
_KEY_HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    body = case.body
    if isinstance(body, dict):
        _respect_body_rules(body)
        if case.method.upper() == "PATCH" and "due_date" in body and body["due_date"] is None:
            # state: clearing the due date of a task that recurs is refused; leaving it is not
            del body["due_date"]
    query = case.query
    cursor = query.get("cursor") if isinstance(query, dict) else None
    if isinstance(cursor, str) and len(cursor) <= _CURSOR_MAX:
        del query["cursor"]  # state: a cursor is opaque and comes from an earlier page
    headers = case.headers
    key = headers.get(_KEY_HEADER) if isinstance(headers, MutableMapping) else None
    if isinstance(key, str) and _KEY.fullmatch(key):
        # state: a key names one intended write; the same key with another request is 422
        # and with the same one replays an answer (perhaps about a task deleted since)
        headers[_KEY_HEADER] = uuid.uuid4().hex


def _respect_body_rules(body: dict[str, Any]) -> None:
    due = body.get("due_date")
    if isinstance(due, str) and _is_past(due):
        body["due_date"] = _FUTURE  # state: a due date may not lie in the past
    if isinstance(body.get("recurrence"), str) and body.get("due_date") is None:
        body["due_date"] = _FUTURE  # across fields: a recurring task needs a due date
    for field in ("password", "new_password"):
        password = body.get(field)
        if isinstance(password, str) and len(password) <= 72 < len(password.encode()):
            # bytes: at most 72 in UTF-8 (bcrypt); a schema can only count characters
            body[field] = "".join(c if ord(c) < 128 else "x" for c in password)


def _is_past(value: str) -> bool:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None and moment < datetime.now(UTC)
