"""User and task repositories on one SQLAlchemy async connection (Core statements over the
SQLModel tables: one round trip per call, no ORM identity map to pay for).

Hot paths, measured with `nox -s bench`: statements are built once at import with bound
parameters (SQLAlchemy then finds their compiled form in its cache without rebuilding the
expression tree per request), and rows become entities positionally, in one step.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, insert, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import NullType

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import Task
from todo_core.domain.users import User
from todo_core.errors import NotFound, VersionMismatch
from todo_core.postgres.listing import page_statement
from todo_core.postgres.tables import TaskRow, UserRow
from todo_core.postgres.translate import storage_errors

users: Table = UserRow.__table__  # type: ignore[attr-defined]
tasks: Table = TaskRow.__table__  # type: ignore[attr-defined]


def _read_columns(table: Table, entity: type, *, untyped: set[str]) -> list[Any]:
    """The table's columns, in the entity's field order so `Entity(*row)` is right (checked
    here, once). `untyped` columns skip SQLAlchemy's result processing: the entity converts
    them itself (Priority(...), tuple(...)), and doing it twice cost ~7% of a list request."""
    names = [f.name for f in fields(entity) if f.init]
    if names != [column.name for column in table.columns]:
        raise RuntimeError(f"{entity.__name__} fields and table {table.name} columns differ")
    return [
        type_coerce(column, NullType()).label(column.name) if column.name in untyped else column
        for column in table.columns
    ]


TASK_COLUMNS = _read_columns(tasks, Task, untyped={"priority", "tags"})
_USER_COLUMNS = _read_columns(users, User, untyped=set())
_TASK_FIELDS = [column.name for column in tasks.columns]
_USER_FIELDS = [column.name for column in users.columns]
_UNCHANGING = ("id", "user_id", "created_at")

_USER_BY = {
    key: select(*_USER_COLUMNS).where(users.c[key] == bindparam("value"))
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
    values = {name: getattr(task, name) for name in _TASK_FIELDS}
    values["priority"] = task.priority.value
    values["tags"] = list(task.tags)
    return values


class PostgresUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        values = {name: getattr(user, name) for name in _USER_FIELDS}
        with storage_errors():
            await self._connection.execute(insert(users), values)

    async def get(self, user_id: UUID) -> User | None:
        return await self._one("id", user_id)

    async def get_by_login(self, login: str) -> User | None:
        return await self._one("email" if "@" in login else "username", login)

    async def _one(self, key: str, value: object) -> User | None:
        with storage_errors():
            row = (await self._connection.execute(_USER_BY[key], {"value": value})).first()
        return None if row is None else User(*row)


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
        return None if row is None else Task(*row)

    async def update(self, task: Task, *, expected_version: int) -> None:
        values = task_values(task)
        for key in _UNCHANGING:
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
        return TaskPage.from_rows([Task(*row) for row in rows], query)
