"""Unit-test fixtures: the services wired to the in-memory fakes and a clock that stands still."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from todo_core import AccountService, BcryptPasswordHasher, Task, TaskService, User
from todo_core.testing import FixedClock, InMemoryStore

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture(scope="session")
def hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher(rounds=4)  # the minimum cost keeps the suite fast


@pytest.fixture
def accounts(
    store: InMemoryStore, hasher: BcryptPasswordHasher, clock: FixedClock
) -> AccountService:
    return AccountService(uow=store.unit_of_work, hasher=hasher, clock=clock)


@pytest.fixture
def tasks(store: InMemoryStore, clock: FixedClock) -> TaskService:
    return TaskService(uow=store.unit_of_work, clock=clock)


@pytest.fixture
async def alice(accounts: AccountService) -> User:
    return await accounts.sign_up(email="alice@example.com", password=PASSWORD, username="alice")


@pytest.fixture
async def bob(accounts: AccountService) -> User:
    return await accounts.sign_up(email="bob@example.com", password=PASSWORD, username="bob")


MakeTask = Callable[..., Awaitable[Task]]


@pytest.fixture
def make_task(tasks: TaskService, alice: User) -> MakeTask:
    """Create one of alice's tasks; keyword arguments override the defaults."""

    async def make(**fields: Any) -> Task:
        fields.setdefault("title", "Water the plants")
        return await tasks.create(actor_id=alice.id, owner_id=alice.id, **fields)

    return make


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)
