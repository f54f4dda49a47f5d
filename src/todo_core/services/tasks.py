"""Tasks: each operation opens a unit of work on behalf of the actor, loads, applies the
entity's rule (`Task.create`, `Task.apply`), saves what follows from it and commits.

The acting user is checked by the operation's own unit of work (`uow(actor=...,
authenticated_at=...)`): they must still exist, be active (a token outlives a deleted account)
and hold a token issued after their last revocation, or AuthenticationFailed is raised before
anything is read or written. On PostgreSQL the check rides on the operation's own round trip,
so it costs nothing on the wire. They may only act on their own tasks (`Forbidden`, after the
check); a task of someone else is reported as missing (`NotFound`), so nothing about it leaks.

Every write may carry an `Idempotency` (see `todo_core.services.idempotency`): its key is
claimed and its answer saved in the write's own unit of work (on PostgreSQL in the write's own
round trips). `batch` applies up to 100 operations in one unit of work: all of them, or none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Required, TypedDict, TypeVar, Unpack
from uuid import UUID

from todo_core.domain.idempotency import KeyAnswered, KeyEffectMissing, KeyRaced
from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import UNSET, Priority, Task, TaskChanges
from todo_core.errors import IdempotencyKeyInUse, StorageBusy, VersionMismatch
from todo_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from todo_core.services import idempotency as keys
from todo_core.services.batch import BatchOperation, BatchResult, run_batch
from todo_core.services.idempotency import DEFAULT_KEY_LIFETIME, Idempotency
from todo_core.services.operations import TaskUpdate, load_task, only_their_own, update_task

R = TypeVar("R")

# Attempts of a save without If-Match that keeps losing races (see `TaskService.update`).
_REDOS = 50


class TaskTarget(TypedDict, total=False):
    """Which task, for whom, and (optionally) at which version, under which idempotency key:
    the keywords of `complete` and `reopen`, as `update` takes them."""

    actor_id: Required[UUID]
    owner_id: Required[UUID]
    task_id: Required[UUID]
    expected_version: int | None
    authenticated_at: datetime | None
    idempotency: Idempotency[TaskUpdate] | None


class TaskService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        key_lifetime: timedelta = DEFAULT_KEY_LIFETIME,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._key_lifetime = key_lifetime

    async def _write(
        self,
        actor: tuple[UUID, UUID, datetime | None],
        idempotency: Idempotency[R] | None,
        operation: Callable[[UnitOfWork, datetime], Awaitable[R]],
        touched: Callable[[R], Iterable[UUID]],
    ) -> R:
        """Actor check, key claim, the operation, the key's answer, commit: one unit of work.
        Run once more if another unit of work saved the same key first (it then replays).
        `actor`: (actor id, owner id, the token's issue time)."""
        actor_id, owner_id, authenticated_at = actor
        for _ in range(3):
            now = self._clock.now()
            try:
                async with self._uow(actor=actor_id, authenticated_at=authenticated_at) as uow:
                    await only_their_own(uow, actor_id, owner_id)
                    if idempotency is not None:
                        await keys.claim(uow, owner_id, idempotency, now)
                    result = await operation(uow, now)
                    if idempotency is not None:
                        await keys.save(
                            uow, owner_id, idempotency, result, touched=touched(result),
                            now=now, lifetime=self._key_lifetime,
                        )  # fmt: skip
                    await uow.commit()
                    return result
            except KeyAnswered:
                assert idempotency is not None
                await keys.replay(self._uow, actor, idempotency, now)  # raises Replayed
            except KeyRaced:
                continue
            except KeyEffectMissing:  # the write's own check failed at commit: hear its error
                idempotency = None
        raise IdempotencyKeyInUse()

    async def create(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        title: str,
        description: str | None = None,
        priority: str | Priority | None = None,
        due_date: datetime | None = None,
        tags: Iterable[str] = (),
        recurrence: str | None = None,
        idempotency: Idempotency[Task] | None = None,
    ) -> Task:
        task = Task.create(
            user_id=owner_id,
            title=title,
            description=description,
            priority=priority,
            due_date=due_date,
            tags=tags,
            recurrence=recurrence,
            now=self._clock.now(),
        )

        async def add(uow: UnitOfWork, now: datetime) -> Task:
            await uow.tasks.add(task)
            return task

        return await self._write(
            (actor_id, owner_id, authenticated_at), idempotency, add, lambda t: (t.id,)
        )

    async def get(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        authenticated_at: datetime | None = None,
    ) -> Task:
        async with self._uow(
            read_only=True, actor=actor_id, authenticated_at=authenticated_at
        ) as uow:
            await only_their_own(uow, actor_id, owner_id)
            return await load_task(uow, owner_id, task_id, None)

    async def list(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        query: TaskQuery,
        authenticated_at: datetime | None = None,
    ) -> TaskPage:
        async with self._uow(
            read_only=True, actor=actor_id, authenticated_at=authenticated_at
        ) as uow:
            await only_their_own(uow, actor_id, owner_id)
            return await uow.tasks.list(user_id=owner_id, query=query, now=self._clock.now())

    async def update(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        task_id: UUID,
        changes: TaskChanges,
        expected_version: int | None = None,
        idempotency: Idempotency[TaskUpdate] | None = None,
    ) -> TaskUpdate:
        """Apply `changes`; `completed` true/false completes or reopens (never a toggle).
        Without `expected_version` the last writer wins (see `_change`)."""

        async def change(uow: UnitOfWork, now: datetime) -> TaskUpdate:
            return await update_task(uow, owner_id, task_id, changes, expected_version, now)

        actor = (actor_id, owner_id, authenticated_at)
        return await self._change(actor, idempotency, change, expected_version)

    async def toggle(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        authenticated_at: datetime | None = None,
        task_id: UUID,
        expected_version: int | None = None,
    ) -> TaskUpdate:
        """Complete an open task, reopen a completed one: the compatibility surface's
        `PATCH .../complete`, which the front ends calling it expect to toggle. The choice is
        made on the version loaded here and the write is guarded by that version, so two
        racing toggles never both apply to one state (without `expected_version` the loser
        is redone on the new state: each toggle flips once); `expected_version` (If-Match)
        makes a retried toggle safe."""

        async def flip(uow: UnitOfWork, now: datetime) -> TaskUpdate:
            return await update_task(
                uow, owner_id, task_id,
                lambda task: TaskChanges(completed=not task.completed), expected_version, now,
            )  # fmt: skip

        actor = (actor_id, owner_id, authenticated_at)
        return await self._change(actor, None, flip, expected_version)

    async def _change(
        self,
        actor: tuple[UUID, UUID, datetime | None],
        idempotency: Idempotency[TaskUpdate] | None,
        change: Callable[[UnitOfWork, datetime], Awaitable[TaskUpdate]],
        expected_version: int | None,
    ) -> TaskUpdate:
        """A read-modify-write. With `expected_version` (If-Match) a stale version is
        VersionMismatch (412). Without it the last writer wins: a save that lost the race to
        a concurrent writer is redone on the new state (load, apply, save), so every such
        request applies and none fails with VersionMismatch.

        Retry rather than lock: the write is one statement sent at commit (two round trips
        per read-modify-write); holding a row lock from the load to the save would keep a
        transaction open across both round trips of every update, to serve the rare contended
        one. A redo applies the request's own changes to the current state (no field of the
        other writer is lost, a completion re-decides its follow-up), costs two round trips
        per lost race, and each round of racers has a winner; past `_REDOS` the answer is
        StorageBusy (503, retry), never 412."""
        if expected_version is not None:
            return await self._write(actor, idempotency, change, lambda r: r.touched)
        for _ in range(_REDOS):
            try:
                return await self._write(actor, idempotency, change, lambda r: r.touched)
            except VersionMismatch:
                continue
        raise StorageBusy("The task kept changing under this request; try again shortly.")

    async def complete(self, **target: Unpack[TaskTarget]) -> TaskUpdate:
        """Idempotent: completing a completed task changes nothing and creates no follow-up."""
        return await self.update(changes=TaskChanges(completed=True), **target)

    async def reopen(self, **target: Unpack[TaskTarget]) -> TaskUpdate:
        return await self.update(changes=TaskChanges(completed=False), **target)

    async def delete(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        task_id: UUID,
        expected_version: int | None = None,
        authenticated_at: datetime | None = None,
        idempotency: Idempotency[None] | None = None,
    ) -> None:
        """One statement: the version check and the delete cannot be split by another writer."""

        async def remove(uow: UnitOfWork, now: datetime) -> None:
            await uow.tasks.delete(
                user_id=owner_id, task_id=task_id, expected_version=expected_version
            )

        await self._write(
            (actor_id, owner_id, authenticated_at), idempotency, remove, lambda _: (task_id,)
        )

    async def batch(
        self,
        *,
        actor_id: UUID,
        owner_id: UUID,
        operations: Sequence[BatchOperation],
        authenticated_at: datetime | None = None,
        idempotency: Idempotency[Sequence[BatchResult]] | None = None,
    ) -> Sequence[BatchResult]:
        """Apply every operation in order in one unit of work, or none (`BatchFailed` names
        the first that failed). See `todo_core.services.batch`."""

        async def apply_all(uow: UnitOfWork, now: datetime) -> Sequence[BatchResult]:
            return await run_batch(uow, owner_id, operations, now)

        return await self._write(
            (actor_id, owner_id, authenticated_at),
            idempotency,
            apply_all,
            lambda results: [task for result in results for task in result.touched],
        )


__all__ = ["UNSET", "TaskChanges", "TaskService", "TaskUpdate"]
