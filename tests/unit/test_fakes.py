"""The in-memory unit of work must behave like a transaction, or the service tests prove little."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tests.unit.conftest import NOW, later
from todo_core import (
    DuplicateAccount,
    NotFound,
    StorageError,
    StorageUnavailable,
    Task,
    TaskChanges,
    TaskQuery,
    User,
    VersionMismatch,
)
from todo_core.domain import new_task
from todo_core.domain.users import new_user
from todo_core.testing import FixedClock, InMemoryStore


def a_user(email: str = "dora@example.com", username: str | None = None) -> User:
    return new_user(email=email, username=username, name=None, password_hash="$2b$x", now=NOW)


async def seeded(store: InMemoryStore) -> tuple[User, Task]:
    user = a_user()
    task = new_task(user_id=user.id, title="Plan", now=NOW)
    async with store.unit_of_work() as uow:
        await uow.users.add(user)
        await uow.tasks.add(task)
        await uow.commit()
    return user, task


async def test_nothing_is_kept_without_commit(store: InMemoryStore) -> None:
    async with store.unit_of_work() as uow:
        await uow.users.add(a_user())
        assert await uow.users.get_by_login("dora@example.com") is not None  # visible inside
    assert store.tables.users == {}
    assert store.commits == 0


async def test_an_error_rolls_back(store: InMemoryStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work() as uow:
            await uow.users.add(a_user())
            raise RuntimeError("boom")
    assert store.tables.users == {}


async def test_work_after_commit_is_rolled_back(store: InMemoryStore) -> None:
    user, task = await seeded(store)
    async with store.unit_of_work() as uow:
        await uow.tasks.delete(user_id=user.id, task_id=task.id)
    assert task.id in store.tables.tasks


async def test_entities_are_not_shared_with_the_store(store: InMemoryStore) -> None:
    user, task = await seeded(store)
    async with store.unit_of_work() as uow:
        loaded = await uow.tasks.get(user_id=user.id, task_id=task.id)
        assert loaded is not None
        loaded.title = "changed without saving"
        await uow.commit()
    assert store.tables.tasks[task.id].title == "Plan"


async def test_uniqueness(store: InMemoryStore) -> None:
    await seeded(store)
    async with store.unit_of_work() as uow:
        with pytest.raises(DuplicateAccount):
            await uow.users.add(a_user())
        await uow.users.add(a_user("erin@example.com", username="erin"))
        with pytest.raises(DuplicateAccount) as caught:
            await uow.users.add(a_user("fay@example.com", username="erin"))
        assert caught.value.field == "username"


async def test_concurrent_sign_ups_clash_at_commit(store: InMemoryStore) -> None:
    first, second = store.unit_of_work(), store.unit_of_work()
    async with first, second:
        await first.users.add(a_user())
        await second.users.add(a_user())
        await first.commit()
        with pytest.raises(DuplicateAccount):
            await second.commit()
    assert len(store.tables.users) == 1


async def test_version_check(store: InMemoryStore) -> None:
    _, task = await seeded(store)
    async with store.unit_of_work() as uow:
        edited = replace(task)
        edited.apply(TaskChanges(title="Edited"), later(hours=1))
        with pytest.raises(VersionMismatch) as caught:
            await uow.tasks.update(edited, expected_version=5)
        assert caught.value.current_version == 1
        await uow.tasks.update(edited, expected_version=1)
        await uow.commit()
    assert store.tables.tasks[task.id].version == 2


async def test_lost_update_is_caught_at_commit(store: InMemoryStore) -> None:
    user, task = await seeded(store)
    first, second = store.unit_of_work(), store.unit_of_work()
    async with first, second:
        for uow, title in ((first, "one"), (second, "two")):
            loaded = await uow.tasks.get(user_id=user.id, task_id=task.id)
            assert loaded is not None
            loaded.apply(TaskChanges(title=title), later(hours=1))
            await uow.tasks.update(loaded, expected_version=1)
        await first.commit()
        with pytest.raises(VersionMismatch):
            await second.commit()
    assert store.tables.tasks[task.id].title == "one"


async def test_update_of_a_missing_or_foreign_task(store: InMemoryStore) -> None:
    _, task = await seeded(store)
    async with store.unit_of_work() as uow:
        with pytest.raises(NotFound):
            await uow.tasks.update(replace(task, id=uuid.uuid4()), expected_version=1)
        with pytest.raises(NotFound):
            await uow.tasks.update(replace(task, user_id=uuid.uuid4()), expected_version=1)


async def test_task_needs_an_existing_owner(store: InMemoryStore) -> None:
    async with store.unit_of_work() as uow:
        with pytest.raises(StorageError):
            await uow.tasks.add(new_task(user_id=uuid.uuid4(), title="Orphan", now=NOW))


async def test_ownership_filtering(store: InMemoryStore) -> None:
    _, task = await seeded(store)
    stranger = uuid.uuid4()
    async with store.unit_of_work() as uow:
        assert await uow.tasks.get(user_id=stranger, task_id=task.id) is None
        with pytest.raises(NotFound):
            await uow.tasks.delete(user_id=stranger, task_id=task.id)
        page = await uow.tasks.list(user_id=stranger, query=TaskQuery(), now=NOW)
        assert page.items == ()
        await uow.commit()
    assert task.id in store.tables.tasks


async def test_unavailable_store(store: InMemoryStore) -> None:
    store.unavailable = True
    with pytest.raises(StorageUnavailable):
        async with store.unit_of_work():
            pass


async def test_repositories_only_work_inside_the_block(store: InMemoryStore) -> None:
    uow = store.unit_of_work()
    with pytest.raises(RuntimeError):
        await uow.users.get(uuid.uuid4())


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(NOW)
    assert clock.now() == clock.now() == NOW
    clock.advance(later(minutes=5) - NOW)
    assert clock.now() == later(minutes=5)
