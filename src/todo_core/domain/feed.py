"""The change feed's values: a change, a page of them, and the cursor that resumes a feed.

Every write to a user's tasks gives each task it touches the user's next change number
(`seq`): numbers only grow, per user, and a task keeps only its latest number, so a feed read
"after n" returns each task changed since n once, in its latest state, oldest change first.
A deleted task leaves a tombstone (`Change.delete`) that is kept for the retention period.

The cursor holds the last number a client has seen and when the feed answered it. A cursor
older than the tombstone retention may have missed tombstones that are gone now, so it is
refused (`CursorExpired`): the client starts again without one. Cursors are URL-safe base64
of compact JSON, unsigned: a forged one only moves a client within its own feed.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import UUID

from todo_core.domain.tasks import Task
from todo_core.errors import CursorExpired, ValidationError

MAX_FEED_CURSOR_LENGTH = 200
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Change:
    op: Literal["upsert", "delete"]
    seq: int
    task_id: UUID
    task: Task | None  # the task as it is now; None for a delete

    @classmethod
    def upsert(cls, seq: int, task: Task) -> Change:
        return cls("upsert", seq, task.id, task)

    @classmethod
    def delete(cls, seq: int, task_id: UUID) -> Change:
        return cls("delete", seq, task_id, None)


@dataclass(frozen=True)
class FeedCursor:
    seq: int  # the last change number the client has seen (0: none)
    issued_at: datetime

    def encode(self) -> str:
        payload = {"n": self.seq, "t": int(self.issued_at.timestamp())}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        try:
            if len(text) > MAX_FEED_CURSOR_LENGTH or not _BASE64URL.fullmatch(text):
                raise ValueError("not base64url")
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            seq, issued = payload["n"], payload["t"]
            if set(payload) != {"n", "t"} or not _whole(seq) or not _whole(issued):
                raise ValueError("wrong shape")
            return cls(seq, datetime.fromtimestamp(issued, UTC))
        except (ValueError, TypeError, KeyError, OverflowError, OSError, RecursionError):
            raise ValidationError.of("cursor", "is not a valid change-feed cursor") from None

    def check_fresh(self, now: datetime, retention: timedelta) -> None:
        """Refuse a cursor older than the tombstone retention (its tombstones may be gone)."""
        if self.issued_at < now - retention:
            raise CursorExpired()


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62


@dataclass(frozen=True)
class ChangePage:
    changes: list[Change]
    next_cursor: FeedCursor
    has_more: bool

    @classmethod
    def from_rows(cls, rows: list[Change], *, after: int, limit: int, now: datetime) -> ChangePage:
        """`rows`: up to `limit + 1` changes after `after`, oldest first (one extra tells
        whether more follow)."""
        page = rows[:limit]
        last = page[-1].seq if page else after
        return cls(page, FeedCursor(last, now), len(rows) > limit)
