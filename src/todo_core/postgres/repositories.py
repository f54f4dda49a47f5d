"""User and task repositories on one SQLAlchemy async connection (Core statements over the
SQLModel tables: one round trip per call, no ORM identity map to pay for).

Hot paths, measured with `nox -s bench`: statements are built once at import with bound
parameters (SQLAlchemy then finds their compiled form in its cache without rebuilding the
expression tree per request), and rows become entities positionally, in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import DateTime, Table, bindparam, delete, insert, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import Priority, Task
from todo_core.domain.users import User
from todo_core.domain.validation import to_utc
from todo_core.errors import NotFound, VersionMismatch
from todo_core.postgres.listing import page_statement
from todo_core.postgres.tables import TaskRow, UserRow
from todo_core.postgres.translate import storage_errors

users: Table = UserRow.__table__  # type: ignore[attr-defined]
tasks: Table = TaskRow.__table__  # type: ignore[attr-defined]
E = TypeVar("E")


class _RowMapping(Generic[E]):
    """Rows of `table` as `entity`s: the columns to select, in the entity's field order (checked
    here, once), and the conversion of each row, positionally, in one step. Driver values become
    the domain's types here, not in the entity: every timestamp in UTC whatever the session's
    zone, and each `untyped` column through its converter. Untyped columns skip SQLAlchemy's
    result processing: doing it there as well cost ~7% of a list request."""

    def __init__(
        self, table: Table, entity: type[E], *, untyped: dict[str, Callable[[Any], Any]]
    ) -> None:
        names = [f.name for f in fields(entity)]  # type: ignore[arg-type]
        if names != [column.name for column in table.columns]:
            raise RuntimeError(f"{entity.__name__} fields and table {table.name} columns differ")
        self.names = names
        self.columns: list[Any] = [
            type_coerce(column, NullType()).label(column.name) if column.name in untyped else column
            for column in table.columns
        ]
        self._entity = entity
        self._conversions = [
            (index, untyped.get(column.name) or _in_utc(column.name))
            for index, column in enumerate(table.columns)
            if column.name in untyped or isinstance(column.type, DateTime)
        ]

    def entity(self, row: Sequence[Any]) -> E:
        values = list(row)
        for index, convert in self._conversions:
            values[index] = convert(values[index])
        return self._entity(*values)


def _in_utc(name: str) -> Callable[[datetime | None], datetime | None]:
    def convert(value: datetime | None) -> datetime | None:
        if value is None or (value.__class__ is datetime and value.tzinfo is UTC):
            return value  # the common case (the session's zone is UTC): a list has 100s
        return to_utc(name, value)

    return convert


_PRIORITIES = {priority.value: priority for priority in Priority}  # faster than Priority(label)
TASK_ROWS = _RowMapping(tasks, Task, untyped={"priority": _PRIORITIES.__getitem__, "tags": tuple})
_USER_ROWS = _RowMapping(users, User, untyped={})
TASK_COLUMNS = TASK_ROWS.columns
UNCHANGING = ("id", "user_id", "created_at")  # never in an UPDATE's SET

_UPDATE_USER = update(users).where(users.c.id == bindparam("user_key"))
_USER_BY = {
    key: select(*_USER_ROWS.columns).where(users.c[key] == bindparam("value"))
    for key in ("id", "email", "username")
}
_THIS_TASK = (tasks.c.id == bindparam("task_id"), tasks.c.user_id == bindparam("owner"))
_GET_TASK = select(*TASK_COLUMNS).where(*_THIS_TASK)
# SET gets every parameter named like a column; the WHERE binds are named otherwise.
_UPDATE_TASK = (
    update(tasks).where(*_THIS_TASK, tasks.c.version == bindparam("loaded")).returning(tasks.c.id)
)
_VERSION = select(tasks.c.version).where(tasks.c.id == bindparam("task_id"))
_DELETE_TASK = delete(tasks).where(*_THIS_TASK).returning(tasks.c.id)
_DELETE_TASK_AT = (
    delete(tasks).where(*_THIS_TASK, tasks.c.version == bindparam("loaded")).returning(tasks.c.id)
)
_OWN_VERSION = select(tasks.c.version).where(*_THIS_TASK)


def task_values(task: Task) -> dict[str, Any]:
    values = {name: getattr(task, name) for name in TASK_ROWS.names}
    values["priority"] = task.priority.value
    values["tags"] = list(task.tags)
    return values


class PostgresUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        values = {name: getattr(user, name) for name in _USER_ROWS.names}
        with storage_errors():
            await self._connection.execute(insert(users), values)

    async def get(self, user_id: UUID) -> User | None:
        return await self._one("id", user_id)

    async def update(self, user: User) -> None:
        values = {
            name: getattr(user, name)
            for name in _USER_ROWS.names
            if name not in ("id", "created_at")
        }
        values["user_key"] = user.id
        with storage_errors():
            await self._connection.execute(_UPDATE_USER, values)

    async def delete(self, user_id: UUID) -> None:
        with storage_errors():
            await self._connection.execute(delete(users).where(users.c.id == user_id))

    async def get_by_login(self, login: str) -> User | None:
        return await self._one("email" if "@" in login else "username", login)

    async def _one(self, key: str, value: object) -> User | None:
        with storage_errors():
            row = (await self._connection.execute(_USER_BY[key], {"value": value})).first()
        return None if row is None else _USER_ROWS.entity(row)


class PostgresTaskRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, task: Task) -> None:
        with storage_errors():
            await self._connection.execute(insert(tasks), task_values(task))

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        with storage_errors():
            result = await self._connection.execute(
                _GET_TASK, {"task_id": task_id, "owner": user_id}
            )
            row = result.first()
        return None if row is None else TASK_ROWS.entity(row)

    async def update(self, task: Task, *, expected_version: int) -> None:
        values = task_values(task)
        for key in UNCHANGING:
            del values[key]
        values.update(task_id=task.id, owner=task.user_id, loaded=expected_version)
        with storage_errors():
            if (await self._connection.execute(_UPDATE_TASK, values)).first() is not None:
                return
            current = await self._connection.scalar(_VERSION, {"task_id": task.id})
        if current is None:
            raise NotFound("task")
        raise VersionMismatch(current_version=current)

    async def delete(
        self, *, user_id: UUID, task_id: UUID, expected_version: int | None = None
    ) -> None:
        values: dict[str, object] = {"task_id": task_id, "owner": user_id}
        statement = _DELETE_TASK
        if expected_version is not None:
            statement, values["loaded"] = _DELETE_TASK_AT, expected_version
        with storage_errors():
            if (await self._connection.execute(statement, values)).first() is not None:
                return
            current = await self._connection.scalar(
                _OWN_VERSION, {"task_id": task_id, "owner": user_id}
            )
        if current is None:
            raise NotFound("task")
        raise VersionMismatch(current_version=current)

    async def list(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> TaskPage:
        statement = page_statement(
            tasks, columns=TASK_COLUMNS, user_id=user_id, query=query, now=now
        )
        with storage_errors():
            rows = (await self._connection.execute(statement)).all()
        return TaskPage.from_rows([TASK_ROWS.entity(row) for row in rows], query)
