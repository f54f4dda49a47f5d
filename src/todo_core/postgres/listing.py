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
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Integer,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    false,
    not_,
    or_,
    select,
    tuple_,
)
from sqlalchemy.sql.elements import BindParameter

from todo_core.domain.pagination import PageCursor
from todo_core.domain.queries import SortField, TaskQuery
from todo_core.domain.tasks import Priority
from todo_core.postgres.link import Sql, compiled_now

_LIKE_ESCAPE = "\\"


_MAX_SHAPES = 512  # far more than clients use; each is one compiled statement


class _Shape(NamedTuple):
    """What decides a page statement's text: the sort, the overdue filter's sense, and which
    binds there are (which filters are set, whether the cursor has a key)."""

    field: SortField
    descending: bool
    overdue: bool | None
    names: frozenset[str]


class PageStatements:
    """The page statements of one table, compiled once per shape; each request only sends its
    values. Building and cache-keying a Select per request cost a list ~15% of its CPU."""

    def __init__(self, table: Table, columns: Sequence[Any]) -> None:
        """`columns`: what to read of each row (the repository decides how rows are typed)."""
        self._table = table
        self._columns = tuple(columns)
        self._compiled: dict[_Shape, Sql] = {}

    def page(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> tuple[Sql, dict[str, Any]]:
        """This page's statement and its values."""
        values = _values(user_id, query, now)
        shape = _Shape(
            SortField(query.sort.field), query.sort.descending, query.overdue, frozenset(values)
        )
        statement = self._compiled.get(shape)
        if statement is None:
            if len(self._compiled) >= _MAX_SHAPES:
                self._compiled.pop(next(iter(self._compiled)))
            statement = self._compiled[shape] = compiled_now(self._statement(shape))
        return statement, values

    def _statement(self, shape: _Shape) -> Select[Any]:
        table = self._table
        column = table.c[shape.field.value]
        descending = shape.descending
        statement = select(*self._columns).where(
            table.c.user_id == bindparam("user_id"), *_filters(table, shape)
        )
        if "last_id" in shape.names:
            after = _after(table, column, keyed="key" in shape.names, descending=descending)
            statement = statement.where(after)
        if column.nullable:
            order = column.desc().nulls_last() if descending else column.asc().nulls_last()
        else:
            order = column.desc() if descending else column.asc()
        tie = table.c.id.desc() if descending else table.c.id.asc()
        return statement.order_by(order, tie).limit(bindparam("limit", type_=Integer))


def _values(user_id: UUID, query: TaskQuery, now: datetime) -> dict[str, Any]:
    """The page's binds; which of them are present is part of the statement's shape (each has
    its condition in `_filters` or `_after`)."""
    values: dict[str, Any] = {"user_id": user_id, "limit": query.limit + 1}
    if query.completed is not None:
        values["completed"] = query.completed
    if query.priority is not None:
        values["priority"] = query.priority.value
    if query.tags:
        values["tags"] = list(query.tags)
    if query.due_before is not None:
        values["due_before"] = query.due_before
    if query.due_after is not None:
        values["due_after"] = query.due_after
    if query.overdue is not None:
        values["now"] = now
    if query.text:
        values["pattern"] = f"%{_escape_like(query.text)}%"
    if query.cursor is not None:
        values["last_id"] = query.cursor.id
        if query.cursor.key is not None:
            values["key"] = _key_value(query.cursor)
    return values


def _after(table: Table, column: Any, *, keyed: bool, descending: bool) -> Any:
    # Typed binds: a bare string would compare as varchar, and enum > varchar has no operator.
    key = bindparam("key", type_=column.type)
    last_id = bindparam("last_id", type_=table.c.id.type)
    id_after = table.c.id < last_id if descending else table.c.id > last_id
    if not keyed:  # the previous page ended among the NULLs, which come last
        return and_(column.is_(None), id_after)
    if descending:
        after = tuple_(column, table.c.id) < tuple_(key, last_id)
    else:
        after = tuple_(column, table.c.id) > tuple_(key, last_id)
    return or_(after, column.is_(None)) if column.nullable else after


def _key_value(cursor: PageCursor) -> Any:
    key = cursor.key
    return key.value if isinstance(key, Priority) else key


def _filters(table: Table, shape: _Shape) -> list[Any]:
    c = table.c
    names = shape.names
    conditions: list[Any] = []
    if "completed" in names:
        conditions.append(c.completed == bindparam("completed"))  # `=` (not IS): the index
    if "priority" in names:
        conditions.append(c.priority == bindparam("priority"))
    if "tags" in names:
        conditions.append(c.tags.contains(cast(bindparam("tags"), ARRAY(Text))))
    if "due_before" in names:
        conditions.append(c.due_date < bindparam("due_before"))
    if "due_after" in names:
        conditions.append(c.due_date >= bindparam("due_after"))
    if shape.overdue is not None:
        due = c.due_date < bindparam("now")
        overdue = and_(c.completed == false(), c.due_date.is_not(None), due)
        conditions.append(overdue if shape.overdue else not_(overdue))
    if "pattern" in names:
        pattern: BindParameter[str] = bindparam("pattern")
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
