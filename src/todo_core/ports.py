"""The ports: what the services need from the outside world, as `typing.Protocol`s.

Adapters implement them (`todo_core.postgres` for PostgreSQL, `todo_core.testing` in memory).
Every adapter error reaches the services as a `todo_core.errors` error, never a driver's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import Task
from todo_core.domain.users import User


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, password_hash: str) -> bool:
        """False for a wrong password or a malformed hash; never raises for either."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Raises DuplicateAccount(field="email" | "username") when either is taken."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...

    async def get_by_login(self, login: str) -> User | None:
        """`login` is a normalised email (it contains "@") or else an exact username."""
        ...


class TaskRepository(Protocol):
    async def add(self, task: Task) -> None: ...

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        """None also when the task exists but belongs to another user."""
        ...

    async def update(self, task: Task, *, expected_version: int) -> None:
        """Store every field of `task`, `version` included, if the stored version is
        `expected_version`; otherwise raise VersionMismatch(current_version=<stored>), or
        NotFound("task") if the task is gone."""
        ...

    async def delete(
        self, *, user_id: UUID, task_id: UUID, expected_version: int | None = None
    ) -> None:
        """Delete the user's task in one step: NotFound("task") if it is not there (or not
        theirs), VersionMismatch(current_version=<stored>) if `expected_version` is given and
        stale; nothing is deleted then."""
        ...

    async def list(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> TaskPage:
        """One page of the user's tasks; `now` decides `overdue` (see `domain.queries`)."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the `async with` block rolls back whatever was not committed."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def tasks(self) -> TaskRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """A fresh unit of work. `read_only=True` promises no writes (and no commit), which
        lets an adapter skip the transaction: two fewer round trips on PostgreSQL."""
        ...


@dataclass(frozen=True)
class HealthReport:
    database_ok: bool
    migration_current: bool | None  # None when the database could not be asked


class HealthProbe(Protocol):
    async def check(self) -> HealthReport: ...
