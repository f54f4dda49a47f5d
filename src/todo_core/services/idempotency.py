"""Running a write at most once per idempotency key (see `todo_core.domain.idempotency`).

Inside the write's own unit of work, after the actor check, the key is claimed (held until the
unit of work ends; another one holding it: `IdempotencyKeyInUse` at once; an answer stored for
another request: `IdempotencyKeyReused`; for this one: the answer is read in a fresh unit of
work and raised as `Replayed`), the effect applied, and the answer saved beside it, so key and
effect commit together or not at all. Should another unit of work commit the same key after our
claim (it cannot while we hold it, but keys are also unique in storage), our save fails, we
roll back and run once more, to find its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar
from uuid import UUID

from todo_core.domain.idempotency import Outcome, StoredOutcome, check_key
from todo_core.errors import IdempotencyKeyReused
from todo_core.ports import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")

DEFAULT_KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True)
class Idempotency(Generic[R]):
    """A keyed write: `fingerprint` identifies the request (method, target, body), and
    `respond` turns the write's result into the outcome stored for retries."""

    key: str
    fingerprint: str
    respond: Callable[[R], Outcome]

    def __post_init__(self) -> None:
        check_key(self.key)


class Replayed(Exception):  # noqa: N818 - not an error: the answer to give instead
    """The key was used before for the same request: answer `outcome` again, change nothing."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        super().__init__("replayed")


async def claim(uow: UnitOfWork, owner_id: UUID, request: Idempotency[R], now: datetime) -> None:
    await uow.keys.claim(
        user_id=owner_id, key=request.key, fingerprint=request.fingerprint, now=now
    )


async def replay(
    uow: UnitOfWorkFactory,
    actor: tuple[UUID, UUID, datetime | None],
    request: Idempotency[R],
    now: datetime,
) -> None:
    """Raise `Replayed` with the answer stored under the key (returns if it has expired).
    `actor`: (actor id, owner id, token issue time); the read carries the actor's check, so
    a revoked token gets no replay either."""
    actor_id, owner_id, authenticated_at = actor
    async with uow(read_only=True, actor=actor_id, authenticated_at=authenticated_at) as reading:
        stored = await reading.keys.find(user_id=owner_id, key=request.key, now=now)
    if stored is None:
        return
    if stored.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused()
    raise Replayed(stored.outcome)


async def save(
    uow: UnitOfWork,
    owner_id: UUID,
    request: Idempotency[R],
    result: R,
    *,
    touched: Iterable[UUID],
    now: datetime,
    lifetime: timedelta,
) -> None:
    stored = StoredOutcome(request.fingerprint, request.respond(result))
    await uow.keys.save(
        user_id=owner_id,
        key=request.key,
        stored=stored,
        touched=frozenset(touched),
        now=now,
        expires_at=now + lifetime,
    )
