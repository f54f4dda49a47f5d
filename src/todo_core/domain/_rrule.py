"""Parsing of the supported RRULE subset into a small value that dateutil can evaluate.

Private to the domain: callers use `todo_core.domain.recurrence`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from dateutil import rrule as rr

from todo_core.errors import ValidationError

MAX_LENGTH = 200
_FREQUENCIES: dict[str, Literal[0, 1, 2, 3]] = {
    "DAILY": rr.DAILY,
    "WEEKLY": rr.WEEKLY,
    "MONTHLY": rr.MONTHLY,
    "YEARLY": rr.YEARLY,
}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ORDINAL_LIMIT = {"MONTHLY": 5, "YEARLY": 53}
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_INT = re.compile(r"[+-]?\d{1,4}")
_UNTIL = re.compile(r"(\d{8})(T\d{6}Z)?")


def _invalid(message: str) -> ValidationError:
    return ValidationError.of("recurrence", message)


@dataclass(frozen=True)
class Rule:
    freq: str
    interval: int = 1
    byday: tuple[tuple[int, str], ...] = ()  # (ordinal, day); ordinal 0 means every such day
    bymonthday: tuple[int, ...] = ()
    count: int | None = None
    until: datetime | None = None

    def __str__(self) -> str:
        parts = [f"FREQ={self.freq}"]
        if self.interval != 1:
            parts.append(f"INTERVAL={self.interval}")
        if self.byday:
            parts.append("BYDAY=" + ",".join(f"{n or ''}{day}" for n, day in self.byday))
        if self.bymonthday:
            parts.append("BYMONTHDAY=" + ",".join(map(str, self.bymonthday)))
        if self.count is not None:
            parts.append(f"COUNT={self.count}")
        if self.until is not None:
            parts.append(f"UNTIL={self.until:%Y%m%dT%H%M%SZ}")
        return ";".join(parts)

    def series(self, start: datetime, offset: timedelta) -> rr.rrule:
        """dateutil's rrule from `start`, without COUNT (callers count), with UNTIL moved by
        `offset` like `start` was (see `recurrence._offset`)."""
        days = [rr.weekday(_DAYS.index(day), n or None) for n, day in self.byday]
        try:
            until = None if self.until is None else self.until + offset
        except OverflowError:  # beyond year 9999, where dateutil stops anyway
            until = None
        return rr.rrule(
            _FREQUENCIES[self.freq],
            dtstart=start,
            interval=self.interval,
            until=until,
            byweekday=days or None,
            bymonthday=self.bymonthday or None,
        )


def _integer(key: str, value: str, low: int, high: int) -> int:
    if not _INT.fullmatch(value) or not low <= int(value) <= high:
        raise _invalid(f"{key} must be a whole number from {low} to {high}")
    return int(value)


def _byday(freq: str, value: str) -> tuple[tuple[int, str], ...]:
    days: set[tuple[int, str]] = set()
    for token in value.upper().split(","):
        match = _BYDAY.fullmatch(token)
        if not match:
            raise _invalid(f"BYDAY value {token!r} is not a weekday such as MO or 1MO")
        ordinal = int(match[1] or 0)
        limit = _ORDINAL_LIMIT.get(freq, 0)
        if match[1] is not None and not (ordinal and abs(ordinal) <= limit):
            raise _invalid(f"BYDAY {token!r} is not allowed with FREQ={freq}")
        days.add((ordinal, match[2]))
    return tuple(sorted(days, key=lambda d: (_DAYS.index(d[1]), d[0])))


def _bymonthday(freq: str, value: str) -> tuple[int, ...]:
    if freq == "WEEKLY":
        raise _invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY")
    days = {_integer("BYMONTHDAY", v, -31, 31) for v in value.split(",")}
    if 0 in days:
        raise _invalid("BYMONTHDAY must not be 0")
    return tuple(sorted(days, key=lambda d: (d < 0, abs(d))))


def _until(value: str) -> datetime:
    match = _UNTIL.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        if match[2] is None:  # a bare date means "through the end of that day"
            return datetime.strptime(match[1] + "T235959", "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _invalid("UNTIL must be a date (YYYYMMDD) or a UTC time (YYYYMMDDTHHMMSSZ)") from None


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in filter(None, text.split(";")):
        key, sep, value = part.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise _invalid(f"{part!r} is not a KEY=VALUE pair")
        if key not in {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "COUNT", "UNTIL"}:
            raise _invalid(f"{key} is not supported")
        if key in fields:
            raise _invalid(f"{key} is given twice")
        fields[key] = value.strip()
    return fields


def parse_rule(text: str) -> Rule:
    if not isinstance(text, str) or "\x00" in text or len(text.strip()) > MAX_LENGTH:
        raise _invalid(f"must be a rule of at most {MAX_LENGTH} characters")
    text = text.strip()
    if text.upper() in _FREQUENCIES:
        return Rule(text.upper())
    if text[:6].upper() == "RRULE:":
        text = text[6:]
    fields = _fields(text)
    freq = fields.pop("FREQ", "").upper()
    if freq not in _FREQUENCIES:
        raise _invalid("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in fields and "UNTIL" in fields:
        raise _invalid("use COUNT or UNTIL, not both")
    return Rule(
        freq,
        interval=_integer("INTERVAL", fields.get("INTERVAL", "1"), 1, 1000),
        byday=_byday(freq, fields["BYDAY"]) if "BYDAY" in fields else (),
        bymonthday=_bymonthday(freq, fields["BYMONTHDAY"]) if "BYMONTHDAY" in fields else (),
        count=_integer("COUNT", fields["COUNT"], 1, 1000) if "COUNT" in fields else None,
        until=_until(fields["UNTIL"]) if "UNTIL" in fields else None,
    )
