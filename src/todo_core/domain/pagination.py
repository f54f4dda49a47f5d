"""Keyset pagination: an opaque cursor naming the last row a client has seen.

The cursor holds the sort order, that row's sort key and its id, so the next page is
"rows after (key, id) in this order" (see `todo_core.domain.sorting` for the order). Cursors
are URL-safe base64 of compact JSON, unpadded. They are not signed: a forged cursor only moves
a client within its own tasks, and every decoded value is checked before it reaches a query.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from todo_core.domain.sorting import SortField, SortKey, TaskSort
from todo_core.domain.tasks import TITLE_MAX, Priority, Task
from todo_core.errors import ValidationError

# Big enough for a title key of 255 four-byte characters; larger input is refused unread.
MAX_CURSOR_LENGTH = 2048
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class PageCursor:
    sort: TaskSort
    key: SortKey
    id: UUID

    @classmethod
    def after(cls, task: Task, sort: TaskSort) -> PageCursor:
        """The cursor for the page that follows `task`."""
        return cls(sort, sort.key_of(task), task.id)

    def admits(self, task: Task) -> bool:
        """Whether `task` sorts strictly after this cursor, i.e. belongs to a later page."""
        return self.sort.compare(self.sort.key_of(task), task.id, self.key, self.id) > 0

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        payload = {"s": str(self.sort), "k": key, "i": str(self.id)}
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str, sort: TaskSort) -> PageCursor:
        """The cursor in `text`, which must have been made for `sort`; else ValidationError."""
        try:
            payload = _payload(text)
            key, row_id = _key(sort.field, payload["k"]), _uuid(payload["i"])
        except (ValueError, TypeError, RecursionError):  # binascii and JSON errors are ValueErrors
            raise ValidationError.of("cursor", "is not a valid page cursor") from None
        if payload["s"] != str(sort):
            raise ValidationError.of("cursor", "belongs to a different sort order")
        return cls(sort, key, row_id)


def _payload(text: str) -> dict[str, Any]:
    if not isinstance(text, str) or len(text) > MAX_CURSOR_LENGTH:
        raise ValueError("not a cursor")
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    payload = json.loads(raw.decode("utf-8"))
    if not isinstance(payload, dict) or set(payload) != {"s", "k", "i"}:
        raise ValueError("wrong shape")
    return payload


def _uuid(value: object) -> UUID:
    if not isinstance(value, str):
        raise TypeError("id")
    return UUID(value)


def _key(field: SortField, value: object) -> SortKey:
    if value is None and field is SortField.DUE_DATE:
        return None
    if not isinstance(value, str):
        raise TypeError("key")
    if field is SortField.PRIORITY:
        return Priority(value)
    if field is SortField.TITLE:
        if len(value) > TITLE_MAX or "\x00" in value:
            raise ValueError("title key")
        return value
    moment = datetime.fromisoformat(value)
    if moment.utcoffset() is None:
        raise ValueError("naive time")
    return moment.astimezone(UTC)
