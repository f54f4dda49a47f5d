from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.unit.conftest import NOW, later
from todo_core import PageCursor, Priority, Task, TaskQuery, TaskSort, ValidationError
from todo_core.domain import new_task

OWNER = uuid.uuid4()


def task(**fields: object) -> Task:
    return replace(new_task(user_id=OWNER, title="Plan the trip", now=NOW), **fields)  # type: ignore[arg-type]


def failing(**fields: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        TaskQuery(**fields)  # type: ignore[arg-type]
    return [e.field for e in caught.value.errors]


def test_defaults() -> None:
    query = TaskQuery()
    assert (query.limit, query.cursor, query.tags, query.text, str(query.sort)) == (
        20,
        None,
        (),
        None,
        "-created_at",
    )


def test_values_are_normalised() -> None:
    tokyo = timezone(timedelta(hours=9))
    query = TaskQuery(
        tags=(" Work", "work", "HOME"),
        text="  milk ",
        priority="HIGH",  # type: ignore[arg-type]
        due_before=NOW.astimezone(tokyo),
    )
    assert query.tags == ("work", "home")
    assert query.text == "milk"
    assert query.priority is Priority.HIGH
    assert query.due_before == NOW
    assert query.due_before.tzinfo == UTC
    assert TaskQuery(text="   ").text is None


@pytest.mark.parametrize("limit", [0, 101, -1, True, 2.5])
def test_limit_must_be_1_to_100(limit: object) -> None:
    assert failing(limit=limit) == ["limit"]


def test_every_bad_field_is_reported() -> None:
    assert failing(
        limit=0,
        tags=["x" * 11],
        text="x" * 201,
        due_after=datetime(2025, 1, 1),
        priority="urgent",
    ) == ["limit", "priority", "tags", "text", "due_after"]


def test_text_with_nul_is_rejected() -> None:
    assert failing(text="a\x00b") == ["text"]


def test_cursor_must_match_the_sort() -> None:
    cursor = PageCursor(TaskSort.parse("title"), "a", uuid.uuid4())
    assert failing(cursor=cursor) == ["cursor"]
    assert TaskQuery(cursor=cursor, sort=TaskSort.parse("title")).cursor == cursor


class TestMatches:
    def test_completed_and_priority(self) -> None:
        done = task(completed=True, completed_at=NOW, priority=Priority.HIGH)
        assert TaskQuery(completed=True).matches(done, NOW)
        assert not TaskQuery(completed=False).matches(done, NOW)
        assert TaskQuery(priority=Priority.HIGH).matches(done, NOW)
        assert not TaskQuery(priority=Priority.LOW).matches(done, NOW)

    def test_all_tags_must_match(self) -> None:
        tagged = task(tags=("work", "urgent"))
        assert TaskQuery(tags=("work",)).matches(tagged, NOW)
        assert TaskQuery(tags=("urgent", "WORK")).matches(tagged, NOW)
        assert not TaskQuery(tags=("work", "home")).matches(tagged, NOW)

    def test_due_window_is_half_open(self) -> None:
        due = task(due_date=later(days=1))
        assert TaskQuery(due_after=later(days=1)).matches(due, NOW)
        assert not TaskQuery(due_before=later(days=1)).matches(due, NOW)
        assert TaskQuery(due_before=later(days=1, seconds=1)).matches(due, NOW)
        assert not TaskQuery(due_after=NOW).matches(task(), NOW)  # no due date, no match

    def test_overdue(self) -> None:
        past_due = task(due_date=later(hours=-1))
        assert TaskQuery(overdue=True).matches(past_due, NOW)
        assert not TaskQuery(overdue=False).matches(past_due, NOW)
        done = replace(past_due, completed=True, completed_at=NOW)
        assert TaskQuery(overdue=False).matches(done, NOW)
        assert TaskQuery(overdue=False).matches(task(), NOW)

    def test_text_searches_title_and_description_ignoring_case(self) -> None:
        described = task(description="Remember the PASSPORT")
        assert TaskQuery(text="TRIP").matches(described, NOW)
        assert TaskQuery(text="passport").matches(described, NOW)
        assert not TaskQuery(text="visa").matches(described, NOW)
        assert TaskQuery(text="50%").matches(task(title="Save 50% on it"), NOW)
