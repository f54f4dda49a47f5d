from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from todo_core import ValidationError
from todo_core.domain import next_occurrence, parse_recurrence


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def series(
    rule: str, due: datetime, *, now: datetime | None = None, limit: int = 50
) -> list[datetime]:
    """Due dates of the tasks a series produces when each is completed on time."""
    dues = [due]
    for _ in range(limit):
        found = next_occurrence(rule, due=due, now=now or due)
        if found is None:
            break
        due, rule = found
        dues.append(due)
    return dues


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("daily", "FREQ=DAILY"),
        ("Weekly", "FREQ=WEEKLY"),
        (" MONTHLY ", "FREQ=MONTHLY"),
        ("yearly", "FREQ=YEARLY"),
        ("RRULE:FREQ=WEEKLY;BYDAY=WE,MO", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("freq=weekly;byday=mo,mo;interval=2", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),
        ("FREQ=MONTHLY;BYDAY=-1FR,1MO", "FREQ=MONTHLY;BYDAY=1MO,-1FR"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1,15,1", "FREQ=MONTHLY;BYMONTHDAY=1,15,-1"),
        ("FREQ=DAILY;INTERVAL=1;COUNT=3", "FREQ=DAILY;COUNT=3"),
        ("FREQ=DAILY;UNTIL=20250301", "FREQ=DAILY;UNTIL=20250301T235959Z"),
        ("FREQ=DAILY;UNTIL=20250301T120000Z;", "FREQ=DAILY;UNTIL=20250301T120000Z"),
    ],
)
def test_parse_returns_canonical_rule(text: str, canonical: str) -> None:
    assert parse_recurrence(text) == canonical
    assert parse_recurrence(canonical) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "fortnightly",
        "FREQ=SECONDLY",
        "FREQ=HOURLY",
        "FREQ=DAILY;BYHOUR=9",
        "INTERVAL=2",
        "FREQ=DAILY;COUNT=3;UNTIL=20250301",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=x",
        "FREQ=DAILY;COUNT=0",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=MONTHLY;BYDAY=0MO",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=DAILY;UNTIL=20250230",
        "FREQ=DAILY;UNTIL=20250301T120000",
        "FREQ=DAILY;garbage",
        "FREQ=DAILY;BYDAY=",
        "FREQ=DAILY\x00",
        "FREQ=DAILY;" + "BYDAY=MO," * 30,
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_recurrence(text)
    assert [e.field for e in caught.value.errors] == ["recurrence"]


def test_daily_keeps_the_time_of_day() -> None:
    assert next_occurrence("daily", due=at(2025, 1, 15), now=at(2025, 1, 15)) == (
        at(2025, 1, 16),
        "FREQ=DAILY",
    )


def test_weekly_on_monday_and_wednesday() -> None:
    monday = at(2025, 1, 13)
    assert series("FREQ=WEEKLY;BYDAY=MO,WE", monday, limit=4) == [
        monday,
        at(2025, 1, 15),
        at(2025, 1, 20),
        at(2025, 1, 22),
        at(2025, 1, 27),
    ]


def test_monthly_on_the_31st_skips_short_months() -> None:
    assert series("monthly", at(2025, 1, 31), limit=4) == [
        at(2025, 1, 31),
        at(2025, 3, 31),
        at(2025, 5, 31),
        at(2025, 7, 31),
        at(2025, 8, 31),
    ]


def test_last_day_of_month() -> None:
    assert series("FREQ=MONTHLY;BYMONTHDAY=-1", at(2024, 1, 31), limit=3) == [
        at(2024, 1, 31),
        at(2024, 2, 29),
        at(2024, 3, 31),
        at(2024, 4, 30),
    ]


def test_monthly_nth_weekday() -> None:
    assert series("FREQ=MONTHLY;BYDAY=-1FR", at(2025, 1, 31), limit=2) == [
        at(2025, 1, 31),
        at(2025, 2, 28),
        at(2025, 3, 28),
    ]


def test_yearly_on_february_29_waits_for_leap_years() -> None:
    assert series("yearly", at(2024, 2, 29), limit=2) == [
        at(2024, 2, 29),
        at(2028, 2, 29),
        at(2032, 2, 29),
    ]


def test_interval() -> None:
    assert series("FREQ=DAILY;INTERVAL=3", at(2025, 1, 1), limit=2) == [
        at(2025, 1, 1),
        at(2025, 1, 4),
        at(2025, 1, 7),
    ]


def test_count_yields_exactly_count_tasks() -> None:
    dues = series("FREQ=DAILY;COUNT=3", at(2025, 1, 1))
    assert dues == [at(2025, 1, 1), at(2025, 1, 2), at(2025, 1, 3)]


def test_count_carries_the_remainder() -> None:
    assert next_occurrence("FREQ=WEEKLY;COUNT=5", due=at(2025, 1, 1), now=at(2025, 1, 1)) == (
        at(2025, 1, 8),
        "FREQ=WEEKLY;COUNT=4",
    )


def test_count_of_one_is_exhausted_at_once() -> None:
    assert next_occurrence("FREQ=DAILY;COUNT=1", due=at(2025, 1, 1), now=at(2025, 1, 1)) is None


def test_until_is_exhausted() -> None:
    assert series("FREQ=DAILY;UNTIL=20250103", at(2025, 1, 1)) == [
        at(2025, 1, 1),
        at(2025, 1, 2),
        at(2025, 1, 3),
    ]
    assert (
        next_occurrence("FREQ=DAILY;UNTIL=20241231", due=at(2025, 1, 1), now=at(2025, 1, 1)) is None
    )


def test_past_occurrences_are_skipped_when_completed_late() -> None:
    found = next_occurrence("daily", due=at(2025, 1, 1), now=at(2025, 1, 10, 12))
    assert found == (at(2025, 1, 11), "FREQ=DAILY")


def test_skipped_occurrences_count_against_count() -> None:
    found = next_occurrence("FREQ=DAILY;COUNT=5", due=at(2025, 1, 1), now=at(2025, 1, 3, 12))
    assert found == (at(2025, 1, 4), "FREQ=DAILY;COUNT=2")
    assert next_occurrence("FREQ=DAILY;COUNT=3", due=at(2025, 1, 1), now=at(2025, 1, 9)) is None


def test_completing_early_moves_past_the_due_date_not_now() -> None:
    assert next_occurrence("weekly", due=at(2025, 1, 20), now=at(2025, 1, 10)) == (
        at(2025, 1, 27),
        "FREQ=WEEKLY",
    )


def test_an_occurrence_exactly_at_now_is_not_next() -> None:
    found = next_occurrence("daily", due=at(2025, 1, 1), now=at(2025, 1, 2))
    assert found is not None
    assert found[0] == at(2025, 1, 3)


def test_microseconds_and_offsets_are_kept_in_utc() -> None:
    due = at(2025, 1, 1).replace(microsecond=250)
    found = next_occurrence("daily", due=due.astimezone(), now=due)
    assert found is not None
    assert found[0] == at(2025, 1, 2).replace(microsecond=250)
    assert found[0].tzinfo == UTC


@pytest.mark.parametrize(
    "never",
    [
        "FREQ=MONTHLY;BYDAY=5MO;BYMONTHDAY=1",  # a fifth Monday is never the 1st
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",  # every 7th day from a Monday is a Monday
        "FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30",  # every February, which has no 30th
    ],
)
def test_rule_that_never_fires_again_returns_none_quickly(never: str) -> None:
    started = time.perf_counter()
    assert next_occurrence(never, due=at(2025, 2, 10), now=at(2025, 2, 10)) is None
    assert time.perf_counter() - started < 0.5  # dateutil alone would search to the year 9999


def test_sparse_rules_far_ahead_are_still_found() -> None:
    assert next_occurrence("FREQ=YEARLY;INTERVAL=1000", due=at(2025, 1, 1), now=at(2025, 1, 1)) == (
        at(3025, 1, 1),
        "FREQ=YEARLY;INTERVAL=1000",
    )
    found = next_occurrence("FREQ=YEARLY;INTERVAL=100", due=at(2000, 2, 29), now=at(2000, 2, 29))
    assert found is not None
    assert found[0] == at(2400, 2, 29)


def test_next_due_is_strictly_after_now_for_long_gaps() -> None:
    now = at(2025, 1, 1) + timedelta(days=3650, hours=1)
    found = next_occurrence("daily", due=at(2025, 1, 1), now=now)
    assert found is not None
    assert now < found[0] <= now + timedelta(days=1)
