"""Storage outages in the log: one line per kind of failure per interval, without a traceback
(busy answers, which are load rather than an outage, likewise, as warnings).

While the database is down every request answers 503, and a traceback per answer buried the
log (a 3 s outage wrote 1.5 MB). An outage is expected, not a bug: its traceback says nothing
the kind does not. So the first failure of a kind is logged at once, in one line; the same
kind again within `interval` seconds is only counted, and the count rides on the next line of
that kind. Unexpected errors are not handled here and keep their tracebacks.

The kind is the innermost cause (class, SQLSTATE) of the `StorageUnavailable`; the line shows
that cause's first line, which names the host but never a password (drivers do not print it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from todo_core import StorageBusy, StorageUnavailable

_SHOWN = 200  # characters of the cause's first line


def failure_kind(error: StorageUnavailable | StorageBusy) -> tuple[str, str]:
    """(kind, reason): what failed, grouped by class and SQLSTATE, and its first line."""
    cause: BaseException = error
    while cause.__cause__ is not None:
        cause = cause.__cause__
    if cause is error and isinstance(error, StorageBusy):
        return "no-free-connection", "every pooled connection stayed in use"
    if cause is error:
        return "circuit-open", "failing fast: the database failed moments ago"
    sqlstate = getattr(cause, "sqlstate", None)
    kind = type(cause).__name__ + (f" {sqlstate}" if sqlstate else "")
    first = (str(cause).strip().splitlines() or [""])[0][:_SHOWN]
    return kind, first or kind


@dataclass
class OutageLog:
    logger: logging.Logger
    interval: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _last: dict[str, float] = field(default_factory=dict, init=False)
    _unlogged: dict[str, int] = field(default_factory=dict, init=False)

    def report(self, error: StorageUnavailable | StorageBusy, *, where: str) -> None:
        kind, reason = failure_kind(error)
        now = self.clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            self._unlogged[kind] = self._unlogged.get(kind, 0) + 1
            return
        self._last[kind] = now
        more = self._unlogged.pop(kind, 0)
        tail = f" (and {more} more like it since the last line)" if more else ""
        if isinstance(error, StorageBusy):  # load, not an outage
            self.logger.warning("database busy [%s] on %s: %s%s", kind, where, reason, tail)
        else:
            self.logger.error("database unavailable [%s] on %s: %s%s", kind, where, reason, tail)
