"""Recurring tasks: a subset of RFC 5545 RRULE, evaluated by python-dateutil.

Supported: FREQ (DAILY, WEEKLY, MONTHLY, YEARLY), INTERVAL, BYDAY (MO,WE; 1MO or -1FR for
MONTHLY/YEARLY), BYMONTHDAY (incl. -1, not with WEEKLY), and COUNT or UNTIL. The words daily,
weekly, monthly and yearly are shorthand. Occurrences keep the due date's UTC time of day.

COUNT is carried along a series of tasks: each task is the first instance of its own rule, so
the follow-up's rule holds COUNT minus the occurrences consumed (including skipped past ones).
A COUNT=3 series therefore produces exactly three tasks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from todo_core.domain._rrule import parse_rule

# The Gregorian calendar repeats every 400 years, so a rule silent for 400 * INTERVAL years
# (e.g. BYDAY=5MO;BYMONTHDAY=1) is silent forever; this bound keeps such rules cheap.
_CALENDAR_CYCLE = timedelta(days=146_097)


def parse_recurrence(text: str) -> str:
    """The canonical RRULE for `text` (e.g. "FREQ=WEEKLY;BYDAY=MO,WE"), or ValidationError."""
    return str(parse_rule(text))


def next_occurrence(rule: str, *, due: datetime, now: datetime) -> tuple[datetime, str] | None:
    """The first occurrence after both `due` and `now`, with the rule for the follow-up task.

    None once COUNT or UNTIL is exhausted. `due` is the series start (DTSTART).
    """
    parsed = parse_rule(rule)
    due, now = due.astimezone(UTC), now.astimezone(UTC)
    # dateutil drops microseconds from DTSTART; work on whole seconds and add them back.
    shift = timedelta(microseconds=due.microsecond)
    start = due - shift
    try:
        horizon = max(due, now) + _CALENDAR_CYCLE * parsed.interval
    except OverflowError:
        horizon = datetime.max.replace(tzinfo=UTC)
    series = parsed.series(start, horizon)
    if parsed.count is None:
        found = series.after(max(due, now) - shift, inc=False)
        return None if found is None else (found + shift, str(parsed))
    later = series.xafter(start, count=parsed.count - 1, inc=False)
    for consumed, occurrence in enumerate(later, start=1):
        if occurrence + shift > now:
            return occurrence + shift, str(replace(parsed, count=parsed.count - consumed))
    return None
