"""Idempotency keys for the tools, in the same store as the HTTP API's `Idempotency-Key`.

A keyed tool call keeps its result under the key, in the write's own transaction; a retry of
the same call (same tool, same arguments) gets that result again and changes nothing, and the
same key with another call is refused like the HTTP API refuses it (422). The fingerprint names
the tool, so a key an HTTP client used can never replay as a tool result, or the other way round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from todo_core import Idempotency, Outcome

R = TypeVar("R")


def keyed(
    key: str | None, tool: str, arguments: Mapping[str, Any], render: Callable[[R], BaseModel]
) -> Idempotency[R] | None:
    """The service's `idempotency` argument for this call, or None without a key."""
    if key is None:
        return None
    parts = {"tool": tool, "arguments": dict(arguments)}
    digest = hashlib.sha256(orjson.dumps(parts, default=str, option=orjson.OPT_SORT_KEYS))

    def respond(result: R) -> Outcome:
        return Outcome(200, render(result).model_dump_json().encode())

    return Idempotency(key=key, fingerprint=f"mcp:{digest.hexdigest()}", respond=respond)


def replayed(outcome: Outcome) -> CallToolResult:
    """The result kept under the key, as the first call returned it."""
    return CallToolResult(
        content=[TextContent(type="text", text=outcome.body.decode())],
        structured_content=orjson.loads(outcome.body),
        meta={"idempotent_replayed": True},
    )
