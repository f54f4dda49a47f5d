"""Idempotency keys, the change feed and batches in `todo_core`, on the in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import MakeTask, later
from todo_core import (
    BatchFailed,
    BatchOperation,
    CursorExpired,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NotFound,
    Outcome,
    Replayed,
    SyncService,
    Task,
    TaskChanges,
    TaskService,
    User,
    ValidationError,
    VersionMismatch,
)
from todo_core.services.idempotency import Idempotency
from todo_core.testing import FixedClock, InMemoryStore


def key(value: str = "k1", fingerprint: str = "f1") -> Idempotency[Task]:
    return Idempotency(value, fingerprint, lambda task: Outcome(201, task.id.bytes))


@pytest.fixture
def sync(store: InMemoryStore, clock: FixedClock) -> SyncService:
    return SyncService(uow=store.unit_of_work, clock=clock)


async def test_a_keyed_create_runs_once_and_replays_its_outcome(
    tasks: TaskService, alice: User, store: InMemoryStore
) -> None:
    task = await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())
    with pytest.raises(Replayed) as replay:
        await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())
    assert replay.value.outcome == Outcome(201, task.id.bytes)
    assert len(store.tables.tasks) == 1
    with pytest.raises(IdempotencyKeyReused):
        await tasks.create(
            actor_id=alice.id, owner_id=alice.id, title="B", idempotency=key(fingerprint="f2")
        )


async def test_a_key_held_by_a_running_unit_of_work_is_in_use(
    tasks: TaskService, alice: User, store: InMemoryStore, clock: FixedClock
) -> None:
    async with store.unit_of_work() as running:
        await running.keys.claim(user_id=alice.id, key="k1", fingerprint="f1", now=clock.now())
        with pytest.raises(IdempotencyKeyInUse):
            await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())


async def test_keys_expire_and_are_purged(
    tasks: TaskService, sync: SyncService, alice: User, store: InMemoryStore, clock: FixedClock
) -> None:
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())
    assert (await sync.purge()).keys == 0
    clock.advance(timedelta(hours=24, seconds=1))
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())
    assert len(store.tables.tasks) == 2  # the expired key no longer replays
    clock.advance(timedelta(hours=25))
    assert (await sync.purge()).keys == 1
    assert store.tables.keys == {}


async def test_a_failed_write_keeps_no_key(tasks: TaskService, alice: User) -> None:
    with pytest.raises(ValidationError):
        await tasks.create(actor_id=alice.id, owner_id=alice.id, title=" ", idempotency=key())
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="A", idempotency=key())


def test_keys_are_visible_ascii() -> None:
    for bad in ("", " x", "x" * 256, "caf\u00e9", "a\tb"):
        with pytest.raises(ValidationError):
            key(bad)


async def test_the_feed_starts_full_then_shows_changes_and_tombstones(
    tasks: TaskService, sync: SyncService, alice: User, make_task: MakeTask
) -> None:
    first, second = await make_task(title="1"), await make_task(title="2")
    page = await sync.changes(actor_id=alice.id, owner_id=alice.id, limit=1)
    assert [c.task_id for c in page.changes] == [first.id] and page.has_more
    page = await sync.changes(
        actor_id=alice.id, owner_id=alice.id, cursor=page.next_cursor.encode()
    )
    assert [c.task_id for c in page.changes] == [second.id] and not page.has_more
    cursor = page.next_cursor.encode()
    await tasks.update(
        actor_id=alice.id, owner_id=alice.id, task_id=first.id, changes=TaskChanges(title="1b")
    )
    await tasks.delete(actor_id=alice.id, owner_id=alice.id, task_id=second.id)
    page = await sync.changes(actor_id=alice.id, owner_id=alice.id, cursor=cursor)
    assert [(c.op, c.task_id) for c in page.changes] == [
        ("upsert", first.id), ("delete", second.id),
    ]  # fmt: skip
    assert page.changes[0].task is not None and page.changes[0].task.title == "1b"


async def test_old_cursors_expire_and_old_tombstones_are_purged(
    tasks: TaskService, sync: SyncService, alice: User, make_task: MakeTask, clock: FixedClock
) -> None:
    gone = await make_task()
    store_cursor = (await sync.changes(actor_id=alice.id, owner_id=alice.id)).next_cursor
    await tasks.delete(actor_id=alice.id, owner_id=alice.id, task_id=gone.id)
    clock.advance(timedelta(days=30, seconds=1))
    with pytest.raises(CursorExpired):
        await sync.changes(actor_id=alice.id, owner_id=alice.id, cursor=store_cursor.encode())
    with pytest.raises(ValidationError):
        await sync.changes(actor_id=alice.id, owner_id=alice.id, cursor="bogus")


async def test_tombstones_past_retention_are_purged(alice: User, clock: FixedClock) -> None:
    store = InMemoryStore(now=clock.now)
    service = TaskService(uow=store.unit_of_work, clock=clock)
    sync = SyncService(uow=store.unit_of_work, clock=clock)
    store.tables.users[alice.id] = alice
    task = await service.create(actor_id=alice.id, owner_id=alice.id, title="x")
    await service.delete(actor_id=alice.id, owner_id=alice.id, task_id=task.id)
    assert (await sync.purge()).tombstones == 0
    clock.advance(timedelta(days=31, hours=2))
    assert (await sync.purge()).tombstones == 1


async def test_feeds_are_per_user(
    sync: SyncService, alice: User, bob: User, make_task: MakeTask
) -> None:
    await make_task()
    assert (await sync.changes(actor_id=bob.id, owner_id=bob.id)).changes == []


async def test_a_batch_applies_all_with_refs_or_nothing(
    tasks: TaskService, alice: User, store: InMemoryStore, make_task: MakeTask
) -> None:
    old = await make_task(title="old")
    ops = [
        BatchOperation(op="create", ref="a", changes=TaskChanges(title="new")),
        BatchOperation(op="complete", ref="a", expected_version=1),
        BatchOperation(op="update", task_id=old.id, changes=TaskChanges(priority="high")),
    ]
    results = await tasks.batch(actor_id=alice.id, owner_id=alice.id, operations=ops)
    assert [r.op for r in results] == ["create", "complete", "update"]
    assert results[1].task is not None and results[1].task.completed
    commits = store.commits
    failing = [
        BatchOperation(op="create", ref="b", changes=TaskChanges(title="doomed")),
        BatchOperation(op="delete", task_id=old.id, expected_version=1),  # now at 2
    ]
    with pytest.raises(BatchFailed) as failed:
        await tasks.batch(actor_id=alice.id, owner_id=alice.id, operations=failing)
    assert (failed.value.index, failed.value.op) == (1, "delete")
    assert isinstance(failed.value.cause, VersionMismatch)
    assert store.commits == commits and len(store.tables.tasks) == 2


@pytest.mark.parametrize(
    ("operation", "cause"),
    [
        (BatchOperation(op="complete", ref="nowhere"), ValidationError),
        (BatchOperation(op="create", changes=TaskChanges()), ValidationError),
        (BatchOperation(op="reopen"), ValidationError),
        (BatchOperation(op="toggle", ref="x"), ValidationError),
    ],
)
async def test_bad_batch_operations(
    tasks: TaskService, alice: User, operation: BatchOperation, cause: type
) -> None:
    with pytest.raises(BatchFailed) as failed:
        await tasks.batch(actor_id=alice.id, owner_id=alice.id, operations=[operation])
    assert isinstance(failed.value.cause, cause)


async def test_batch_size_is_bounded(tasks: TaskService, alice: User) -> None:
    for size in (0, 101):
        ops = [BatchOperation(op="create", changes=TaskChanges(title="t"))] * size
        with pytest.raises(ValidationError):
            await tasks.batch(actor_id=alice.id, owner_id=alice.id, operations=ops)


async def test_a_batch_cannot_reach_another_users_task(
    tasks: TaskService, alice: User, bob: User, make_task: MakeTask
) -> None:
    hers = await make_task()
    with pytest.raises(BatchFailed) as failed:
        await tasks.batch(
            actor_id=bob.id,
            owner_id=bob.id,
            operations=[BatchOperation(op="delete", task_id=hers.id)],
        )
    assert isinstance(failed.value.cause, NotFound)


async def test_a_batch_completing_one_occurrence_twice_creates_one_follow_up(
    tasks: TaskService, alice: User, store: InMemoryStore, make_task: MakeTask
) -> None:
    done_before = await make_task(title="before", due_date=later(days=1), recurrence="daily")
    ids = {"actor_id": alice.id, "owner_id": alice.id}
    await tasks.complete(**ids, task_id=done_before.id)  # its follow-up exists
    fresh = await make_task(title="fresh", due_date=later(days=1), recurrence="daily")
    ops = [
        BatchOperation(op="reopen", task_id=done_before.id),
        BatchOperation(op="complete", task_id=done_before.id),  # had its one: none
        *(BatchOperation(op=op, task_id=fresh.id) for op in ("complete", "reopen", "complete")),
    ]
    results = await tasks.batch(**ids, operations=ops)
    follow_ups = [r.next_occurrence for r in results if r.next_occurrence is not None]
    assert len(follow_ups) == 1 and follow_ups[0].title == "fresh"
    assert len(store.tables.tasks) == 4  # two tasks, one follow-up each
