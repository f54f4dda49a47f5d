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
from math import gcd

from todo_core.domain._rrule import Rule, parse_rule

# 400 Gregorian years: dates and weekdays repeat exactly, so moving a search by whole cycles
# changes nothing but where it ends. The cycle counted in each frequency's periods:
_CYCLE, _CYCLE_YEARS = timedelta(days=146_097), 400
_PERIODS_PER_CYCLE = {"DAILY": 146_097, "WEEKLY": 20_871, "MONTHLY": 4_800, "YEARLY": 400}


def parse_recurrence(text: str) -> str:
    """The canonical RRULE for `text` (e.g. "FREQ=WEEKLY;BYDAY=MO,WE"), or ValidationError."""
    return str(parse_rule(text))


def next_occurrence(rule: str, *, due: datetime, now: datetime) -> tuple[datetime, str] | None:
    """The first occurrence after both `due` and `now`, with the rule for the follow-up task.

    None once COUNT or UNTIL is exhausted. `due` is the series start (DTSTART).
    """
    parsed = parse_rule(rule)
    due, now = due.astimezone(UTC), now.astimezone(UTC)
    micro = timedelta(microseconds=due.microsecond)  # dateutil drops them from DTSTART
    start = due - micro
    offset = _offset(parsed, start, max(due, now))
    series = parsed.series(start + offset, offset)
    if parsed.count is None:
        found = series.after(max(due, now) - micro + offset, inc=False)
        return None if found is None else (found - offset + micro, str(parsed))
    later = series.xafter(start + offset, count=parsed.count - 1, inc=False)
    for consumed, occurrence in enumerate(later, start=1):
        if occurrence - offset + micro > now:
            return occurrence - offset + micro, str(replace(parsed, count=parsed.count - consumed))
    return None


def _offset(rule: Rule, start: datetime, threshold: datetime) -> timedelta:
    """Whole cycles to move the search by, so that dateutil's own end (the year 9999) falls
    one full cycle of the rule's periods after `threshold`, or as late as the calendar allows.

    dateutil only gives up on a rule that never fires again (BYDAY=5MO;BYMONTHDAY=1, or
    DAILY;INTERVAL=7;BYDAY=TU from a Monday) at the year 9999, which takes seconds. Stepping by
    INTERVAL, the periods repeat their calendar after lcm(INTERVAL, cycle) periods; a rule silent
    for that long stays silent, so ending the search there loses nothing and keeps it cheap.
    """
    periods = _PERIODS_PER_CYCLE[rule.freq]
    years = _CYCLE_YEARS * rule.interval // gcd(rule.interval, periods)
    room = datetime.max.year - threshold.year - years
    cycles = max(room // _CYCLE_YEARS, -((start.year - 1) // _CYCLE_YEARS))
    return _CYCLE * cycles
