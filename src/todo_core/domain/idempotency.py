"""Idempotency keys (the IETF `Idempotency-Key` header, draft-ietf-httpapi-idempotency-key-header):
what a keyed write answered, kept so that a retry gets the same answer instead of a second effect.

A key belongs to the acting user and is stored in the same transaction as the write's effect,
with the request's fingerprint (a digest of method, target and body, made by the caller) and
the `Outcome` the write produced. The outcome is transport-neutral: a status, a body and the
headers that describe the result (`ETag`, `Location`, `Link`), whatever protocol renders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from todo_core.errors import ValidationError

KEY_MAX = 255
_VISIBLE_ASCII = re.compile(rf"[\x21-\x7e]{{1,{KEY_MAX}}}")
HEADER = "Idempotency-Key"


def check_key(value: str) -> str:
    """1 to 255 visible ASCII characters (no spaces or controls)."""
    if not isinstance(value, str) or not _VISIBLE_ASCII.fullmatch(value):
        raise ValidationError.of(HEADER, f"must be 1 to {KEY_MAX} visible ASCII characters")
    return value


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class StoredOutcome:
    fingerprint: str
    outcome: Outcome


class KeyAnswered(Exception):  # noqa: N818 - a signal between adapter and service, not an error
    """`claim` found an answer stored for this very request: the unit of work is spent; the
    service reads the answer (`find`) in a fresh one and replays it."""


class KeyRaced(Exception):  # noqa: N818 - a signal between adapter and service, not an error
    """`save` found the key committed by another unit of work since the claim: this unit of
    work must roll back; run again, it will find the answer."""


class KeyEffectMissing(Exception):  # noqa: N818 - a signal between adapter and service
    """`save` found that the write it answers did not take effect (its own check failed at
    commit): nothing was committed; the service runs the write again, unkeyed, to answer
    with that check's error."""
