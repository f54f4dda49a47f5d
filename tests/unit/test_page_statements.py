"""Task list statements: compiled once per shape, every value sent as a bind."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from todo_core.domain.queries import TaskQuery
from todo_core.domain.tasks import Priority
from todo_core.postgres.listing import PageStatements
from todo_core.postgres.repositories import TASK_COLUMNS
from todo_core.postgres.tables import TaskRow

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def pages() -> PageStatements:
    return PageStatements(TaskRow.__table__, TASK_COLUMNS)  # type: ignore[attr-defined]


def test_one_shape_is_compiled_once_whatever_its_values() -> None:
    statements = pages()
    first, values = statements.page(
        user_id=uuid4(), query=TaskQuery(priority=Priority.HIGH, text="a%b"), now=NOW
    )
    again, other = statements.page(
        user_id=uuid4(), query=TaskQuery(priority=Priority.LOW, text="x", limit=7), now=NOW
    )
    assert again is first
    assert values["pattern"] == "%a\\%b%" and other["limit"] == 8
    assert "a%b" not in first.text  # values never enter the text


def test_each_filter_and_the_overdue_sense_make_their_own_statement() -> None:
    statements = pages()
    user = uuid4()
    texts = {
        statements.page(user_id=user, query=query, now=NOW)[0].text
        for query in (
            TaskQuery(),
            TaskQuery(completed=True),
            TaskQuery(overdue=True),
            TaskQuery(overdue=False),
            TaskQuery(tags=("a",)),
        )
    }
    assert len(texts) == 5
