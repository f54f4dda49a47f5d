"""Keyset pagination for task lists.

Each page is one statement: the user's rows that come after the cursor in the chosen order,
`limit + 1` of them (the extra row only says whether there is a next page). Ordering always
ends in `id`, so it is total and pages stay stable while tasks are added; the leading
`user_id` plus sort column match an index, so a deep page costs what the first one does.
`due_date` may be NULL: NULLs come last in both directions. `q=` is ILIKE on the bare
columns, the form the trigram indexes (`ix_tasks_*_trgm`) serve. tests/integration/
test_list_plans.py reads the plans at 100,000 tasks: every filter and sort is index-driven.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Select,
    Table,
    Text,
    and_,
    cast,
    false,
    literal,
    not_,
    or_,
    select,
    tuple_,
)

from todo_core.domain.pagination import PageCursor
from todo_core.domain.queries import SortField, TaskQuery
from todo_core.domain.tasks import Priority

_LIKE_ESCAPE = "\\"


def page_statement(
    table: Table, *, columns: Sequence[Any], user_id: UUID, query: TaskQuery, now: datetime
) -> Select[Any]:
    """`columns`: what to read of each row (the repository decides how rows are typed)."""
    column = table.c[SortField(query.sort.field).value]
    descending = query.sort.descending
    statement = select(*columns).where(table.c.user_id == user_id, *_filters(table, query, now))
    if query.cursor is not None:
        statement = statement.where(_after(table, column, query.cursor, descending=descending))
    if column.nullable:
        order = column.desc().nulls_last() if descending else column.asc().nulls_last()
    else:
        order = column.desc() if descending else column.asc()
    tie = table.c.id.desc() if descending else table.c.id.asc()
    return statement.order_by(order, tie).limit(query.limit + 1)


def _after(table: Table, column: Any, cursor: PageCursor, *, descending: bool) -> Any:
    # Typed binds: a bare string would compare as varchar, and enum > varchar has no operator.
    key = literal(_key_value(cursor), type_=column.type)
    last_id = literal(cursor.id, type_=table.c.id.type)
    id_after = table.c.id < last_id if descending else table.c.id > last_id
    if cursor.key is None:  # the previous page ended among the NULLs, which come last
        return and_(column.is_(None), id_after)
    if descending:
        after = tuple_(column, table.c.id) < tuple_(key, last_id)
    else:
        after = tuple_(column, table.c.id) > tuple_(key, last_id)
    return or_(after, column.is_(None)) if column.nullable else after


def _key_value(cursor: PageCursor) -> Any:
    key = cursor.key
    return key.value if isinstance(key, Priority) else key


def _filters(table: Table, query: TaskQuery, now: datetime) -> list[Any]:
    c = table.c
    conditions: list[Any] = []
    if query.completed is not None:
        conditions.append(c.completed == query.completed)  # `=` (not IS) so the index applies
    if query.priority is not None:
        conditions.append(c.priority == query.priority.value)
    if query.tags:
        conditions.append(c.tags.contains(cast(list(query.tags), ARRAY(Text))))
    if query.due_before is not None:
        conditions.append(c.due_date < query.due_before)
    if query.due_after is not None:
        conditions.append(c.due_date >= query.due_after)
    if query.overdue is not None:
        overdue = and_(c.completed == false(), c.due_date.is_not(None), c.due_date < now)
        conditions.append(overdue if query.overdue else not_(overdue))
    if query.text:
        pattern = f"%{_escape_like(query.text)}%"
        conditions.append(
            or_(
                c.title.ilike(pattern, escape=_LIKE_ESCAPE),
                c.description.ilike(pattern, escape=_LIKE_ESCAPE),
            )
        )
    return conditions


def _escape_like(text: str) -> str:
    for special in (_LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, _LIKE_ESCAPE + special)
    return text
