from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tests.unit.conftest import NOW
from todo_core import MAX_CURSOR_LENGTH, PageCursor, Priority, SortField, TaskSort, ValidationError
from todo_core.domain import new_task

ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def encode(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rejected(text: str, sort: TaskSort) -> str:
    with pytest.raises(ValidationError) as caught:
        PageCursor.decode(text, sort)
    assert [e.field for e in caught.value.errors] == ["cursor"]
    return str(caught.value)


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-created_at", NOW),
        ("updated_at", NOW.replace(microsecond=123456)),
        ("due_date", NOW),
        ("-due_date", None),
        ("priority", Priority.HIGH),
        ("-title", 'Ünïcode title, with "quotes" and emoji \U0001f600'),
    ],
)
def test_round_trip(sort: str, key: datetime | str | Priority | None) -> None:
    cursor = PageCursor(TaskSort.parse(sort), key, ID)
    text = cursor.encode()
    assert "=" not in text
    assert PageCursor.decode(text, cursor.sort) == cursor


def test_longest_title_fits_in_a_cursor() -> None:
    cursor = PageCursor(TaskSort.parse("title"), "\U0001f600" * 255, ID)
    assert len(cursor.encode()) <= MAX_CURSOR_LENGTH
    assert PageCursor.decode(cursor.encode(), cursor.sort) == cursor


def test_decoded_times_are_utc() -> None:
    sort = TaskSort.parse("-created_at")
    text = encode({"s": "-created_at", "k": "2025-01-15T21:00:00+09:00", "i": str(ID)})
    cursor = PageCursor.decode(text, sort)
    assert cursor.key == NOW
    assert isinstance(cursor.key, datetime)
    assert cursor.key.tzinfo == UTC


def test_after_uses_the_tasks_sort_value() -> None:
    task = new_task(user_id=ID, title="Plan", priority="high", now=NOW)
    assert PageCursor.after(task, TaskSort.parse("priority")).key is Priority.HIGH
    assert PageCursor.after(task, TaskSort.parse("-due_date")).key is None
    assert PageCursor.after(task, TaskSort.parse("title")).id == task.id


def test_cursor_for_another_sort_is_rejected() -> None:
    text = PageCursor(TaskSort.parse("-created_at"), NOW, ID).encode()
    assert "different sort" in rejected(text, TaskSort.parse("created_at"))


@pytest.mark.parametrize(
    ("sort", "text"),
    [
        ("-created_at", ""),
        ("-created_at", "not base64!"),
        ("-created_at", "a"),  # impossible base64 length
        ("-created_at", "x" * (MAX_CURSOR_LENGTH + 1)),
        ("-created_at", base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("=")),
        ("-created_at", encode("just a string")),
        ("-created_at", encode([1, 2, 3])),
        ("-created_at", encode({"s": "-created_at", "k": NOW.isoformat()})),
        ("-created_at", encode({"s": "-created_at", "k": NOW.isoformat(), "i": str(ID), "x": 1})),
        ("-created_at", encode({"s": "-created_at", "k": NOW.isoformat(), "i": "not-a-uuid"})),
        ("-created_at", encode({"s": "-created_at", "k": NOW.isoformat(), "i": 42})),
        ("-created_at", encode({"s": "-created_at", "k": "yesterday", "i": str(ID)})),
        ("-created_at", encode({"s": "-created_at", "k": "2025-01-15T12:00:00", "i": str(ID)})),
        ("-created_at", encode({"s": "-created_at", "k": None, "i": str(ID)})),
        ("-created_at", encode({"s": "-created_at", "k": 1736942400, "i": str(ID)})),
        ("priority", encode({"s": "priority", "k": "urgent", "i": str(ID)})),
        ("title", encode({"s": "title", "k": "nul\x00", "i": str(ID)})),
        ("title", encode({"s": "title", "k": "x" * 256, "i": str(ID)})),
        ("title", encode({"s": "title", "k": ["x"], "i": str(ID)})),
        ("-created_at", base64.urlsafe_b64encode(b"[" * 1500).decode()),
    ],
)
def test_malformed_cursors_are_rejected(sort: str, text: str) -> None:
    rejected(text, TaskSort.parse(sort))


def test_non_string_cursor_is_rejected() -> None:
    rejected(None, TaskSort())  # type: ignore[arg-type]


class TestSortParsing:
    @pytest.mark.parametrize(
        ("text", "field", "descending"),
        [
            ("-created_at", SortField.CREATED_AT, True),
            ("created_at", SortField.CREATED_AT, False),
            ("+due_date", SortField.DUE_DATE, False),
            (" -Priority ", SortField.PRIORITY, True),
            ("title", SortField.TITLE, False),
            ("-updated", SortField.UPDATED_AT, True),
            ("due", SortField.DUE_DATE, False),
        ],
    )
    def test_parse(self, text: str, field: SortField, descending: bool) -> None:
        sort = TaskSort.parse(text)
        assert (sort.field, sort.descending) == (field, descending)

    @pytest.mark.parametrize("text", ["", "-", "name", "created_at;drop", "--title"])
    def test_unknown_sort_is_rejected(self, text: str) -> None:
        with pytest.raises(ValidationError) as caught:
            TaskSort.parse(text)
        assert [e.field for e in caught.value.errors] == ["sort"]

    def test_default_is_newest_first(self) -> None:
        assert str(TaskSort()) == "-created_at"

    def test_str_round_trips(self) -> None:
        for text in ("-created_at", "title", "-priority", "due_date"):
            assert str(TaskSort.parse(text)) == text


class TestOrder:
    LOW, HIGH = uuid.UUID(int=1), uuid.UUID(int=2)

    def test_nulls_come_last_in_both_directions(self) -> None:
        for sort in (TaskSort.parse("due_date"), TaskSort.parse("-due_date")):
            assert sort.compare(None, self.LOW, NOW, self.HIGH) == 1
            assert sort.compare(NOW, self.HIGH, None, self.LOW) == -1

    def test_id_breaks_ties_in_the_sort_direction(self) -> None:
        assert TaskSort.parse("due_date").compare(None, self.LOW, None, self.HIGH) == -1
        assert TaskSort.parse("-due_date").compare(None, self.LOW, None, self.HIGH) == 1
        assert TaskSort.parse("-title").compare("a", self.LOW, "a", self.HIGH) == 1

    def test_priority_orders_by_rank_not_by_name(self) -> None:
        sort = TaskSort.parse("priority")
        assert sort.compare(Priority.LOW, self.HIGH, Priority.MEDIUM, self.LOW) == -1
        assert sort.compare(Priority.HIGH, self.LOW, Priority.MEDIUM, self.HIGH) == 1

    def test_times_compare_as_instants(self) -> None:
        tokyo = NOW.astimezone(timezone(timedelta(hours=9)))
        assert TaskSort().compare(tokyo, self.LOW, NOW, self.LOW) == 0
