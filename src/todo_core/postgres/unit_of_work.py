"""The unit of work on one pooled connection: committed only when told, rolled back otherwise,
and the connection always goes back to the pool. The connection comes from
`PostgresDatabase.acquire`: bounded in time, retried once when cut before its first statement,
short-circuited while the database is down."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection

from todo_core.ports import TaskRepository, TokenStore, UserRepository
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.repositories import PostgresTaskRepository, PostgresUserRepository
from todo_core.postgres.tokens import PostgresTokenStore
from todo_core.postgres.translate import storage_errors


class PostgresUnitOfWork:
    users: UserRepository
    tasks: TaskRepository
    tokens: TokenStore

    def __init__(self, database: PostgresDatabase, *, read_only: bool = False) -> None:
        self._database = database
        self._read_only = read_only
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        self._connection = await self._database.acquire(read_only=self._read_only)
        self.users = PostgresUserRepository(self._connection)
        self.tasks = PostgresTaskRepository(self._connection)
        self.tokens = PostgresTokenStore(self._connection)
        return self

    async def commit(self) -> None:
        assert self._connection is not None, "commit() outside `async with`"
        with storage_errors():
            await self._connection.commit()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.rollback()  # a no-op after commit()
        except Exception:  # noqa: S110 - the connection is discarded below either way
            pass
        finally:
            await connection.close()


class PostgresUnitOfWorkFactory:
    """`UnitOfWorkFactory` for the services: each call opens a fresh unit of work."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    def __call__(self, *, read_only: bool = False) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(self._database, read_only=read_only)
