"""User and task repositories on one SQLAlchemy async connection (Core statements over the
SQLModel tables: one round trip per call, no ORM identity map to pay for)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import Task
from todo_core.domain.users import User
from todo_core.errors import NotFound, VersionMismatch
from todo_core.postgres.listing import page_statement
from todo_core.postgres.tables import TaskRow, UserRow
from todo_core.postgres.translate import storage_errors

users = UserRow.__table__  # type: ignore[attr-defined]
tasks = TaskRow.__table__  # type: ignore[attr-defined]

_TASK_FIELDS = [column.name for column in tasks.columns]
_USER_FIELDS = [column.name for column in users.columns]


def task_values(task: Task) -> dict[str, Any]:
    values = {name: getattr(task, name) for name in _TASK_FIELDS}
    values["priority"] = task.priority.value
    values["tags"] = list(task.tags)
    return values


def task_from_row(row: Any) -> Task:
    return Task(**row._mapping)


class PostgresUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        values = {name: getattr(user, name) for name in _USER_FIELDS}
        with storage_errors():
            await self._connection.execute(insert(users).values(values))

    async def get(self, user_id: UUID) -> User | None:
        return await self._one(users.c.id == user_id)

    async def get_by_login(self, login: str) -> User | None:
        column = users.c.email if "@" in login else users.c.username
        return await self._one(column == login)

    async def _one(self, condition: Any) -> User | None:
        with storage_errors():
            row = (await self._connection.execute(select(users).where(condition))).first()
        return None if row is None else User(**row._mapping)


class PostgresTaskRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, task: Task) -> None:
        with storage_errors():
            await self._connection.execute(insert(tasks).values(task_values(task)))

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        statement = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        with storage_errors():
            row = (await self._connection.execute(statement)).first()
        return None if row is None else task_from_row(row)

    async def update(self, task: Task, *, expected_version: int) -> None:
        values = task_values(task)
        for key in ("id", "user_id", "created_at"):
            del values[key]
        statement = (
            update(tasks)
            .where(tasks.c.id == task.id, tasks.c.user_id == task.user_id)
            .where(tasks.c.version == expected_version)
            .values(values)
            .returning(tasks.c.id)
        )
        with storage_errors():
            if (await self._connection.execute(statement)).first() is not None:
                return
            current = await self._connection.scalar(
                select(tasks.c.version).where(tasks.c.id == task.id)
            )
        if current is None:
            raise NotFound("task")
        raise VersionMismatch(current_version=current)

    async def delete(self, *, user_id: UUID, task_id: UUID) -> None:
        statement = delete(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        with storage_errors():
            await self._connection.execute(statement)

    async def list(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> TaskPage:
        statement = page_statement(tasks, user_id=user_id, query=query, now=now)
        with storage_errors():
            rows = (await self._connection.execute(statement)).all()
        return TaskPage.from_rows([task_from_row(row) for row in rows], query)
