from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.unit.conftest import NOW, MakeTask, later
from todo_core import (
    UNSET,
    AuthenticationFailed,
    Forbidden,
    NotFound,
    Priority,
    Task,
    TaskChanges,
    TaskQuery,
    TaskService,
    User,
    ValidationError,
    VersionMismatch,
)
from todo_core.testing import FixedClock, InMemoryStore


async def test_create_applies_rules_and_stamps(tasks: TaskService, alice: User) -> None:
    task = await tasks.create(
        actor_id=alice.id,
        owner_id=alice.id,
        title="  Pay rent ",
        priority="High",
        tags=["Home", "home", " bills"],
        due_date=later(days=3),
        recurrence="monthly",
    )
    assert (task.title, task.priority, task.tags) == ("Pay rent", Priority.HIGH, ("home", "bills"))
    assert (task.recurrence, task.version, task.created_at, task.updated_at) == (
        "FREQ=MONTHLY",
        1,
        NOW,
        NOW,
    )
    assert await tasks.get(actor_id=alice.id, owner_id=alice.id, task_id=task.id) == task


async def test_create_rejects_a_past_due_date(tasks: TaskService, alice: User) -> None:
    with pytest.raises(ValidationError) as caught:
        await tasks.create(
            actor_id=alice.id, owner_id=alice.id, title="Late", due_date=later(minutes=-1)
        )
    assert [e.field for e in caught.value.errors] == ["due_date"]


class TestOwnership:
    async def test_acting_for_someone_else_is_forbidden_and_changes_nothing(
        self, tasks: TaskService, alice: User, bob: User, store: InMemoryStore
    ) -> None:
        before = store.commits
        with pytest.raises(Forbidden):
            await tasks.create(actor_id=bob.id, owner_id=alice.id, title="Hi")
        task_id = uuid.uuid4()
        calls = [
            tasks.get(actor_id=bob.id, owner_id=alice.id, task_id=task_id),
            tasks.update(
                actor_id=bob.id, owner_id=alice.id, task_id=task_id, changes=TaskChanges()
            ),
            tasks.complete(actor_id=bob.id, owner_id=alice.id, task_id=task_id),
            tasks.reopen(actor_id=bob.id, owner_id=alice.id, task_id=task_id),
            tasks.delete(actor_id=bob.id, owner_id=alice.id, task_id=task_id),
        ]
        for call in calls:
            with pytest.raises(Forbidden):
                await call
        assert store.commits == before
        assert store.tables.tasks == {}

    async def test_a_deleted_or_inactive_actor_fails_authentication(
        self, tasks: TaskService, alice: User, store: InMemoryStore
    ) -> None:
        ghost = uuid.uuid4()  # a valid token can outlive its account
        with pytest.raises(AuthenticationFailed):
            await tasks.list(actor_id=ghost, owner_id=ghost, query=TaskQuery())
        store.tables.users[alice.id].is_active = False
        with pytest.raises(AuthenticationFailed):
            await tasks.create(actor_id=alice.id, owner_id=alice.id, title="Hi")

    async def test_another_users_task_is_not_found(
        self, tasks: TaskService, make_task: MakeTask, bob: User
    ) -> None:
        task = await make_task()
        with pytest.raises(NotFound) as caught:
            await tasks.get(actor_id=bob.id, owner_id=bob.id, task_id=task.id)
        assert caught.value.resource == "task"
        with pytest.raises(NotFound):
            await tasks.delete(actor_id=bob.id, owner_id=bob.id, task_id=task.id)
        with pytest.raises(NotFound):
            await tasks.complete(actor_id=bob.id, owner_id=bob.id, task_id=task.id)


class TestUpdate:
    async def test_partial_update_changes_only_given_fields(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task(description="Both pots", tags=["home"])
        clock.advance(later(hours=1) - NOW)
        changes = TaskChanges(title=" Water plants ", priority="low", description=None)
        result = await tasks.update(
            actor_id=alice.id, owner_id=alice.id, task_id=task.id, changes=changes
        )
        updated = result.task
        assert (updated.title, updated.priority, updated.description, updated.tags) == (
            "Water plants",
            Priority.LOW,
            None,
            ("home",),
        )
        assert (updated.version, updated.updated_at, updated.created_at) == (2, later(hours=1), NOW)
        assert result.next_occurrence is None
        assert await tasks.get(actor_id=alice.id, owner_id=alice.id, task_id=task.id) == updated

    async def test_no_op_update_keeps_the_version(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task(tags=["a"])
        same = TaskChanges(title=task.title, tags=["A"], priority="MEDIUM")
        result = await tasks.update(
            actor_id=alice.id, owner_id=alice.id, task_id=task.id, changes=same
        )
        assert result.task == task

    async def test_stale_version_changes_nothing(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task()
        await tasks.update(
            actor_id=alice.id, owner_id=alice.id, task_id=task.id, changes=TaskChanges(title="A")
        )
        for attempt in (
            tasks.update(
                actor_id=alice.id,
                owner_id=alice.id,
                task_id=task.id,
                changes=TaskChanges(title="B"),
                expected_version=1,
            ),
            tasks.complete(
                actor_id=alice.id, owner_id=alice.id, task_id=task.id, expected_version=1
            ),
            tasks.delete(actor_id=alice.id, owner_id=alice.id, task_id=task.id, expected_version=1),
        ):
            with pytest.raises(VersionMismatch) as caught:
                await attempt
            assert caught.value.current_version == 2
        current = await tasks.get(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
        assert (current.title, current.completed, current.version) == ("A", False, 2)

    async def test_matching_version_is_accepted(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task()
        result = await tasks.update(
            actor_id=alice.id,
            owner_id=alice.id,
            task_id=task.id,
            changes=TaskChanges(title="B", completed=True),
            expected_version=1,
        )
        assert (result.task.title, result.task.completed, result.task.version) == ("B", True, 2)

    async def test_invalid_change_changes_nothing(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task()
        bad = TaskChanges(title="Fine", tags=["x" * 11], due_date=later(days=-1))
        with pytest.raises(ValidationError) as caught:
            await tasks.update(actor_id=alice.id, owner_id=alice.id, task_id=task.id, changes=bad)
        assert [e.field for e in caught.value.errors] == ["due_date", "tags"]
        assert await tasks.get(actor_id=alice.id, owner_id=alice.id, task_id=task.id) == task

    async def test_moving_the_due_date_into_the_past_is_rejected(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task(due_date=later(days=1))
        clock.advance(later(days=2) - NOW)  # the task is now overdue
        for due in (later(days=1, hours=12), later(days=-5)):
            with pytest.raises(ValidationError):
                await tasks.update(
                    actor_id=alice.id,
                    owner_id=alice.id,
                    task_id=task.id,
                    changes=TaskChanges(due_date=due),
                )

    async def test_overdue_task_can_be_edited_with_its_due_date_unchanged(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task(due_date=later(days=1))
        clock.advance(later(days=2) - NOW)
        assert task.due_date is not None
        result = await tasks.update(
            actor_id=alice.id,
            owner_id=alice.id,
            task_id=task.id,
            changes=TaskChanges(title="Still late", due_date=task.due_date),
        )
        assert (result.task.title, result.task.due_date) == ("Still late", task.due_date)

    async def test_due_date_can_be_cleared_and_moved_forward(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task(due_date=later(days=1))
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        moved = await tasks.update(**ids, changes=TaskChanges(due_date=later(days=9)))
        assert moved.task.due_date == later(days=9)
        cleared = await tasks.update(**ids, changes=TaskChanges(due_date=None))
        assert cleared.task.due_date is None

    async def test_recurring_task_keeps_needing_a_due_date(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task(due_date=later(days=1), recurrence="daily")
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        with pytest.raises(ValidationError) as caught:
            await tasks.update(**ids, changes=TaskChanges(due_date=None))
        assert [e.field for e in caught.value.errors] == ["recurrence"]
        plain = await tasks.update(**ids, changes=TaskChanges(due_date=None, recurrence=None))
        assert (plain.task.due_date, plain.task.recurrence) == (None, None)

    async def test_unset_is_the_default(self) -> None:
        assert TaskChanges().title is UNSET
        assert repr(UNSET) == "UNSET"


class TestCompletion:
    async def test_complete_then_reopen(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task()
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        clock.advance(later(hours=1) - NOW)
        done = (await tasks.complete(**ids)).task
        assert (done.completed, done.completed_at, done.version) == (True, later(hours=1), 2)
        clock.advance(later(hours=1) - NOW)
        reopened = (await tasks.reopen(**ids)).task
        assert (reopened.completed, reopened.completed_at) == (False, None)
        assert (reopened.version, reopened.updated_at) == (3, later(hours=2))

    async def test_completing_twice_is_idempotent(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task()
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        first = (await tasks.complete(**ids)).task
        clock.advance(later(hours=1) - NOW)
        second = (await tasks.complete(**ids)).task
        assert second == first
        assert (await tasks.reopen(**ids)).task.version == 3
        assert (await tasks.reopen(**ids)).task.version == 3

    async def test_completing_a_recurring_task_creates_the_next_one(
        self,
        tasks: TaskService,
        make_task: MakeTask,
        alice: User,
        clock: FixedClock,
        store: InMemoryStore,
    ) -> None:
        task = await make_task(
            description="Team sync",
            priority="high",
            tags=["work"],
            due_date=later(days=1),
            recurrence="FREQ=DAILY;COUNT=3",
        )
        commits = store.commits
        result = await tasks.complete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
        assert store.commits == commits + 1  # the completion and the follow-up: one transaction
        follow = result.next_occurrence
        assert follow is not None
        assert follow.id != task.id
        assert (follow.title, follow.description, follow.priority, follow.tags) == (
            task.title,
            "Team sync",
            Priority.HIGH,
            ("work",),
        )
        assert (follow.completed, follow.completed_at, follow.version) == (False, None, 1)
        assert (follow.due_date, follow.recurrence) == (later(days=2), "FREQ=DAILY;COUNT=2")
        assert (follow.created_at, follow.updated_at) == (NOW, NOW)
        assert set(store.tables.tasks) == {task.id, follow.id}

    async def test_count_series_yields_exactly_count_tasks(
        self, tasks: TaskService, make_task: MakeTask, alice: User, store: InMemoryStore
    ) -> None:
        task: Task | None = await make_task(
            due_date=later(days=1), recurrence="FREQ=WEEKLY;COUNT=3"
        )
        while task is not None:
            result = await tasks.complete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
            task = result.next_occurrence
        dues = sorted(t.due_date for t in store.tables.tasks.values() if t.due_date)
        assert dues == [later(days=1), later(days=8), later(days=15)]
        assert all(t.completed for t in store.tables.tasks.values())

    async def test_completing_late_skips_past_occurrences(
        self, tasks: TaskService, make_task: MakeTask, alice: User, clock: FixedClock
    ) -> None:
        task = await make_task(due_date=later(hours=1), recurrence="daily")
        clock.advance(later(days=4) - NOW)
        result = await tasks.complete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
        assert result.next_occurrence is not None
        assert result.next_occurrence.due_date == later(days=4, hours=1)

    async def test_recompleting_creates_no_second_follow_up(
        self, tasks: TaskService, make_task: MakeTask, alice: User, store: InMemoryStore
    ) -> None:
        task = await make_task(due_date=later(days=1), recurrence="daily")
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        assert (await tasks.complete(**ids)).next_occurrence is not None
        assert (await tasks.complete(**ids)).next_occurrence is None
        assert len(store.tables.tasks) == 2

    async def test_reopen_and_complete_again_creates_no_second_follow_up(
        self, tasks: TaskService, make_task: MakeTask, alice: User, store: InMemoryStore
    ) -> None:
        task = await make_task(due_date=later(days=1), recurrence="daily")
        ids: dict[str, Any] = {"actor_id": alice.id, "owner_id": alice.id, "task_id": task.id}
        assert (await tasks.complete(**ids)).next_occurrence is not None
        for _ in range(5):
            await tasks.reopen(**ids)
            assert (await tasks.complete(**ids)).next_occurrence is None
        assert len(store.tables.tasks) == 2

    async def test_patch_fields_and_completion_together(
        self, tasks: TaskService, make_task: MakeTask, alice: User
    ) -> None:
        task = await make_task(due_date=later(days=1), recurrence="daily")
        changes = TaskChanges(title="Renamed", due_date=later(days=2), completed=True)
        result = await tasks.update(
            actor_id=alice.id, owner_id=alice.id, task_id=task.id, changes=changes
        )
        assert result.task.version == 2  # one save, one step
        assert result.next_occurrence is not None
        assert (result.next_occurrence.title, result.next_occurrence.due_date) == (
            "Renamed",
            later(days=3),
        )


async def test_delete(tasks: TaskService, make_task: MakeTask, alice: User) -> None:
    task = await make_task()
    await tasks.delete(actor_id=alice.id, owner_id=alice.id, task_id=task.id, expected_version=1)
    with pytest.raises(NotFound):
        await tasks.get(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
    with pytest.raises(NotFound):
        await tasks.delete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)


async def test_toggle_completes_then_reopens_and_honours_the_version(
    tasks: TaskService, make_task: MakeTask, alice: User, bob: User
) -> None:
    task = await make_task()
    done = await tasks.toggle(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
    assert done.task.completed and done.task.completed_at == NOW
    with pytest.raises(VersionMismatch):
        await tasks.toggle(
            actor_id=alice.id, owner_id=alice.id, task_id=task.id, expected_version=task.version
        )
    again = await tasks.toggle(
        actor_id=alice.id, owner_id=alice.id, task_id=task.id, expected_version=done.task.version
    )
    assert not again.task.completed and again.task.completed_at is None
    with pytest.raises(NotFound):
        await tasks.toggle(actor_id=bob.id, owner_id=bob.id, task_id=task.id)
