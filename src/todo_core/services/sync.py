"""Syncing devices: the per-user change feed, and the housekeeping behind feeds and keys.

A client's first read has no cursor and gets every current task as an upsert; it then follows
`next_cursor` until `has_more` is false and keeps polling with the last cursor, seeing every
create, update, completion, follow-up and delete once, in order (a task changed several times
between two polls once, in its latest state). See `todo_core.ports.ChangeFeed` for why a poll
can never skip a change that commits after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from todo_core.domain.feed import ChangePage, FeedCursor
from todo_core.errors import ValidationError
from todo_core.ports import Clock, UnitOfWorkFactory
from todo_core.services.operations import only_their_own

DEFAULT_TOMBSTONE_RETENTION = timedelta(days=30)
MAX_FEED_LIMIT = 500
# Tombstones outlive the cursor retention by this much, so that clocks a little apart (the
# app's, the database's) and a write still in flight when a cursor was issued lose nothing.
PURGE_MARGIN = timedelta(hours=1)
PURGE_BATCH = 1000


@dataclass(frozen=True)
class Purged:
    keys: int
    tombstones: int


class SyncService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        tombstone_retention: timedelta = DEFAULT_TOMBSTONE_RETENTION,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._retention = tombstone_retention

    async def changes(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        cursor: str | None = None,
        limit: int = 100,
        authenticated_at: datetime | None = None,
    ) -> ChangePage:
        """One page of the owner's feed after `cursor` (from the beginning without one);
        CursorExpired for a cursor older than the tombstone retention."""
        if not 1 <= limit <= MAX_FEED_LIMIT:
            raise ValidationError.of("limit", f"must be 1 to {MAX_FEED_LIMIT}")
        now = self._clock.now()
        after = 0
        if cursor is not None:
            position = FeedCursor.decode(cursor)
            position.check_fresh(now, self._retention)
            after = position.seq
        async with self._uow(
            read_only=True, actor=actor_id, authenticated_at=authenticated_at
        ) as uow:
            await only_their_own(uow, actor_id, owner_id)
            rows = await uow.changes.read(
                user_id=owner_id, after=after, limit=limit, include_deleted=cursor is not None
            )
        return ChangePage.from_rows(rows, after=after, limit=limit, now=now)

    async def purge(self, *, batch: int = PURGE_BATCH) -> Purged:
        """Drop expired idempotency keys and tombstones past retention, at most `batch` of
        each: call it again while it returns full batches. Touches only rows no request uses,
        and never waits for one."""
        now = self._clock.now()
        async with self._uow() as uow:
            keys = await uow.keys.purge(before=now, limit=batch)
            tombstones = await uow.changes.purge(
                before=now - self._retention - PURGE_MARGIN, limit=batch
            )
            await uow.commit()
        return Purged(keys, tombstones)
