"""Idempotency keys on PostgreSQL, within the unit of work's round trips (see `unit_of_work`).

`claim` is `SELECT claim_idempotency_key(...)` (a function in the migration): a
transaction-scoped advisory lock on (user, key), tried without waiting, then the stored answer,
looked up in a snapshot taken after the lock. Every outcome but "go on" is an error (SQLSTATE
TD409 in use, TD422 reused, TD200 answered) that aborts what it was sent with, so the claim is
sent blind: pipelined before the first read and first in the commit's batch, no round trip of
its own. `save` is `SELECT save_idempotency_key(...)`, queued for the commit: it refuses
(TD412) unless every task the write touched has a change record written by this very
transaction (a write whose own check failed leaves none), then inserts the answer; the
primary key (user_id, key) refuses a second answer (KeyRaced). `purge` deletes expired rows
in bounded batches, skipping any row a request has locked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    DateTime,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    Uuid,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from todo_core.domain.idempotency import Outcome, StoredOutcome
from todo_core.postgres.link import Rows, sql
from todo_core.postgres.tables import IdempotencyKeyRow

keys: Table = IdempotencyKeyRow.__table__  # type: ignore[attr-defined]


def _bind(name: str, kind: Any) -> Any:
    return bindparam(name, type_=kind)


_CLAIM = sql(
    select(
        func.claim_idempotency_key(
            _bind("owner", Uuid()),
            _bind("key", Text()),
            _bind("print", Text()),
            _bind("now", DateTime(timezone=True)),
        )
    )
)
_SAVE = sql(
    select(
        func.save_idempotency_key(
            _bind("owner", Uuid()),
            _bind("key", Text()),
            _bind("print", Text()),
            _bind("status", SmallInteger()),
            _bind("headers", JSONB()),
            _bind("body", LargeBinary()),
            _bind("created", DateTime(timezone=True)),
            _bind("expires", DateTime(timezone=True)),
            _bind("touched", ARRAY(Uuid())),
        )
    )
)
_FIND = sql(
    select(keys.c.fingerprint, keys.c.status, keys.c.headers, keys.c.body).where(
        keys.c.user_id == bindparam("owner"),
        keys.c.key == bindparam("key"),
        keys.c.expires_at > bindparam("now"),
    )
)
_EXPIRED = (
    select(keys.c.user_id, keys.c.key)
    .where(keys.c.expires_at <= bindparam("before"))
    .limit(bindparam("rows"))
    .with_for_update(skip_locked=True)
    .cte("expired")
)
_PURGE = sql(
    delete(keys)
    .where(keys.c.user_id == _EXPIRED.c.user_id, keys.c.key == _EXPIRED.c.key)
    .returning(keys.c.key)
)


def _nothing(rows: Rows) -> None:
    return None


class PostgresIdempotencyKeys:
    def __init__(self, channel: Any) -> None:
        self._channel = channel

    async def claim(self, *, user_id: UUID, key: str, fingerprint: str, now: datetime) -> None:
        values = {"owner": user_id, "key": key, "print": fingerprint, "now": now}
        self._channel.claim(_CLAIM, values)

    async def find(self, *, user_id: UUID, key: str, now: datetime) -> StoredOutcome | None:
        rows = await self._channel.read(_FIND, {"owner": user_id, "key": key, "now": now})
        if not rows:
            return None
        fingerprint, status, headers, body = rows[0]
        pairs = tuple((str(name), str(value)) for name, value in headers)
        return StoredOutcome(fingerprint, Outcome(status, bytes(body), pairs))

    async def save(
        self,
        *,
        user_id: UUID,
        key: str,
        stored: StoredOutcome,
        touched: frozenset[UUID],
        now: datetime,
        expires_at: datetime,
    ) -> None:
        outcome = stored.outcome
        values = {
            "owner": user_id,
            "key": key,
            "print": stored.fingerprint,
            "status": outcome.status,
            "headers": [list(pair) for pair in outcome.headers],
            "body": outcome.body,
            "created": now,
            "expires": expires_at,
            "touched": sorted(touched),
        }
        self._channel.write(_SAVE, values, _nothing)

    async def purge(self, *, before: datetime, limit: int) -> int:
        return len(await self._channel.now(_PURGE, {"before": before, "rows": limit}))
