"""The real clock. Services take a `Clock`, so tests pass `todo_core.testing.FixedClock`."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """The system's current time, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
