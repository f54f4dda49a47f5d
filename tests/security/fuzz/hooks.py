"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS): one extra check on every response."""

from __future__ import annotations

import os
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
    if _OWN_ID and isinstance(value, str) and value and value[-1] not in "0123":
        path_parameters["user_id"] = _OWN_ID if _is_uuid(value) or len(value) % 2 else "me"
    return path_parameters


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
