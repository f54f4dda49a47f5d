from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.unit.conftest import NOW, later
from todo_core import Applied, Priority, Task, TaskChanges, ValidationError
from todo_core.domain import (
    check_due_date,
    new_task,
    normalize_description,
    normalize_tags,
    normalize_title,
)


def failing_fields(error: ValidationError) -> list[str]:
    return [e.field for e in error.errors]


def test_title_is_trimmed() -> None:
    assert normalize_title("  Buy milk \n") == "Buy milk"


@pytest.mark.parametrize("title", ["", "   ", "\t\n", "x" * 256, "nul\x00"])
def test_bad_titles_are_rejected(title: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_title(title)
    assert failing_fields(caught.value) == ["title"]


def test_title_of_255_characters_after_trimming_is_fine() -> None:
    assert normalize_title("  " + "x" * 255 + "  ") == "x" * 255


def test_description_kept_as_written_blank_is_none() -> None:
    assert normalize_description("  - indented list\n") == "  - indented list\n"
    assert normalize_description("   ") is None
    assert normalize_description(None) is None


@pytest.mark.parametrize("text", ["x" * 10_001, "a\x00b"])
def test_bad_descriptions_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_description(text)
    assert failing_fields(caught.value) == ["description"]


def test_tags_are_trimmed_lowered_and_deduplicated_in_first_seen_order() -> None:
    assert normalize_tags([" Work", "home ", "WORK", "urgent", "Home"]) == (
        "work",
        "home",
        "urgent",
    )


def test_twenty_distinct_tags_after_dedupe_are_fine() -> None:
    tags = [f"t{i}" for i in range(20)]
    assert normalize_tags(tags + [t.upper() for t in tags]) == tuple(tags)


@pytest.mark.parametrize(
    "tags",
    [
        [f"t{i}" for i in range(21)],
        ["   "],
        [""],
        ["elevenchars"],
        ["nul\x00"],
        "work",  # a bare string is not a list of tags
    ],
)
def test_bad_tags_are_rejected(tags: list[str]) -> None:
    with pytest.raises(ValidationError) as caught:
        normalize_tags(tags)
    assert failing_fields(caught.value) == ["tags"]


def test_no_tags() -> None:
    assert normalize_tags(None) == ()
    assert normalize_tags(iter([])) == ()


def test_ten_character_tag_is_fine() -> None:
    assert normalize_tags([" TenLetters "]) == ("tenletters",)


@pytest.mark.parametrize("text", ["high", "High", "HIGH", " high "])
def test_priority_is_case_insensitive(text: str) -> None:
    assert Priority.parse(text) is Priority.HIGH


@pytest.mark.parametrize("text", ["urgent", "", "hi"])
def test_unknown_priority_is_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Priority.parse(text)
    assert failing_fields(caught.value) == ["priority"]


def test_priority_ranks_low_medium_high() -> None:
    assert [p.rank for p in (Priority.LOW, Priority.MEDIUM, Priority.HIGH)] == [0, 1, 2]


def test_due_date_is_normalised_to_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    due = check_due_date(datetime(2025, 2, 1, 9, 0, tzinfo=tokyo), NOW)
    assert due == datetime(2025, 2, 1, 0, 0, tzinfo=UTC)
    assert due is not None
    assert due.utcoffset() == timedelta(0)


def test_due_date_in_the_past_or_naive_is_rejected() -> None:
    for due in (later(seconds=-1), datetime(2030, 1, 1)):
        with pytest.raises(ValidationError) as caught:
            check_due_date(due, NOW)
        assert failing_fields(caught.value) == ["due_date"]


def test_due_date_exactly_now_is_fine() -> None:
    assert check_due_date(NOW, NOW) == NOW


def test_new_task_defaults() -> None:
    task = new_task(user_id=uuid.uuid4(), title=" Plan ", now=NOW)
    assert (task.title, task.priority, task.tags, task.version) == ("Plan", Priority.MEDIUM, (), 1)
    assert (task.completed, task.completed_at, task.created_at, task.updated_at) == (
        False,
        None,
        NOW,
        NOW,
    )


def test_new_task_reports_every_failing_field_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        new_task(
            user_id=uuid.uuid4(),
            title=" ",
            priority="urgent",
            tags=["x" * 11],
            due_date=later(days=-1),
            recurrence="FREQ=HOURLY",
            now=NOW,
        )
    assert failing_fields(caught.value) == ["title", "priority", "due_date", "tags", "recurrence"]


def test_recurring_task_needs_a_due_date() -> None:
    with pytest.raises(ValidationError) as caught:
        new_task(user_id=uuid.uuid4(), title="Gym", recurrence="daily", now=NOW)
    assert failing_fields(caught.value) == ["recurrence"]


def test_recurrence_is_stored_canonical() -> None:
    task = new_task(
        user_id=uuid.uuid4(), title="Gym", recurrence="weekly", due_date=later(days=1), now=NOW
    )
    assert task.recurrence == "FREQ=WEEKLY"


def test_complete_and_reopen_set_and_clear_completed_at() -> None:
    task = new_task(user_id=uuid.uuid4(), title="Plan", now=NOW)
    assert task.complete(later(hours=1)) is True
    assert (task.completed, task.completed_at, task.updated_at) == (
        True,
        later(hours=1),
        later(hours=1),
    )
    assert task.complete(later(hours=2)) is False  # idempotent: nothing moves
    assert task.completed_at == later(hours=1)
    assert task.reopen(later(hours=3)) is True
    assert not task.completed
    assert task.updated_at == later(hours=3)
    assert task.completed_at is None
    assert task.reopen(later(hours=4)) is False


def test_apply_is_one_edit_one_version_step_however_many_fields() -> None:
    task = Task.create(user_id=uuid.uuid4(), title="Plan", now=NOW)
    applied = task.apply(
        TaskChanges(title="Plan the trip", priority="high", tags=["Trip"], completed=True),
        later(hours=1),
    )
    assert applied == Applied(
        changed=("title", "priority", "tags", "completed", "completed_at"), loaded_version=1
    )
    assert (task.version, task.updated_at, task.completed_at) == (2, later(hours=1), later(hours=1))
    assert task.apply(TaskChanges(completed=False), later(hours=2)).loaded_version == 2
    assert task.version == 3


def test_apply_of_nothing_new_changes_nothing() -> None:
    task = Task.create(user_id=uuid.uuid4(), title="Plan", tags=["a"], now=NOW)
    before = replace(task)
    applied = task.apply(TaskChanges(title=" Plan ", tags=["A"], completed=False), later(hours=1))
    assert applied == Applied(changed=(), loaded_version=1)
    assert task == before


def test_apply_validates_every_field_before_changing_any() -> None:
    task = Task.create(user_id=uuid.uuid4(), title="Plan", now=NOW)
    before = replace(task)
    with pytest.raises(ValidationError) as caught:
        task.apply(
            TaskChanges(title=" ", due_date=later(days=-1), recurrence="daily", tags=[""]),
            later(hours=1),
        )
    assert failing_fields(caught.value) == ["due_date", "title", "tags"]  # no schedule check
    assert task == before


def test_apply_keeps_an_unmoved_past_due_date() -> None:
    task = Task.create(user_id=uuid.uuid4(), title="Plan", due_date=later(hours=1), now=NOW)
    applied = task.apply(TaskChanges(due_date=later(hours=1), title="Late"), later(days=1))
    assert applied.changed == ("title",)


def test_completing_a_recurring_task_returns_its_next_occurrence() -> None:
    task = Task.create(
        user_id=uuid.uuid4(), title="Gym", due_date=later(days=1), recurrence="daily", now=NOW
    )
    applied = task.apply(TaskChanges(completed=True, title="Gym!"), later(days=1, hours=1))
    following = applied.next_occurrence
    assert following is not None and following.id != task.id
    assert (following.title, following.due_date, following.version) == ("Gym!", later(days=2), 1)
    assert (following.completed, following.created_at) == (False, later(days=1, hours=1))
    again = task.apply(TaskChanges(completed=True), later(days=1, hours=2))
    assert again == Applied(changed=(), loaded_version=2)  # already completed: no follow-up


def test_overdue_means_pending_and_past_due() -> None:
    task = new_task(user_id=uuid.uuid4(), title="Plan", due_date=later(hours=1), now=NOW)
    assert not task.is_overdue(NOW)
    assert task.is_overdue(later(hours=2))
    task.complete(later(hours=2))
    assert not task.is_overdue(later(hours=3))
