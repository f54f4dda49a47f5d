"""The unit of work on one pooled connection, spending as few round trips as it can.

How a request stays within one round trip (two for read-modify-write), on the direct and
the pooled path alike (see `link` for what one round trip may carry):

- The acting user's check is never a round trip of its own. It stays pending until the
  first statement: a statement that can carry it folds it into its own SQL (`carry_actor`:
  every write, and the read of one task); any other read goes out pipelined behind
  `ACTOR_MAY_ACT` (one round trip, the verdict read first). If the actor may not act,
  AuthenticationFailed is raised before any result is used, and a write that carried the
  check has written nothing.
- Reads run at once; writes are queued and sent by `commit()`, all of them in one round trip
  (several go in one transaction, pipelined). Leaving without commit sends nothing: the
  queued writes are simply dropped, as a rollback would.
- A write with consequences is one statement (data-modifying CTEs, see `repositories`), so a
  single write needs no BEGIN/COMMIT on the direct path. Behind the pooler every round trip
  is `BEGIN; SET LOCAL statement_timeout; ...; COMMIT` in one pipeline.

The pattern for a new write in the same budget (the change feed, idempotency keys): extend
the write's statement with a CTE that inserts FROM the row the write RETURNs, or queue one
more statement for the same commit (it rides in the same round trip and transaction; make it
fail, not silently do nothing, when it must undo the others). A condition on the actor goes
into `repositories.actor_may_act()` and its binds into `_actor_values()` (as the token's issue
time against `users.tokens_valid_after` does): every read and write carrying the check
follows, at no extra round trip.

An idempotency key's claim (see `keys`) rides the same way: it waits until the unit of work's
first round trip and goes out in it, after the actor's check: pipelined before the first read
(so a retry learns it was answered before it reads anything), and again first in the commit's
batch (so the key is held while the write runs, and a create or delete pays nothing for it).
Its answer is saved by one more statement queued for the commit.

A connection that died while idle in the pool (a Neon suspend) is replaced before use (see
`engine`); one that turns out dead on the first round trip of a read is replaced and the read
sent once more: a read is always safe to repeat. Writes are never repeated (a write whose
answer was lost may have committed), so they answer StorageUnavailable instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import psycopg
from sqlalchemy.pool import PoolProxiedConnection

from todo_core.errors import AuthenticationFailed, StorageUnavailable
from todo_core.ports import (
    ChangeFeed,
    IdempotencyKeyRepository,
    IdentityRepository,
    TaskRepository,
    TokenStore,
    UserRepository,
)
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.feed import PostgresChangeFeed
from todo_core.postgres.keys import PostgresIdempotencyKeys
from todo_core.postgres.link import Bound, Link, Rows, Sql, sql
from todo_core.postgres.repositories import (
    ACTOR_MAY_ACT,
    TOKEN_REFUSED,
    PostgresIdentityRepository,
    PostgresTaskRepository,
    PostgresUserRepository,
)
from todo_core.postgres.tokens import PostgresTokenStore
from todo_core.postgres.translate import storage_errors

_ACTOR_MAY_ACT = sql(ACTOR_MAY_ACT)


class PostgresUnitOfWork:
    users: UserRepository
    tasks: TaskRepository
    tokens: TokenStore
    identities: IdentityRepository
    changes: ChangeFeed
    keys: IdempotencyKeyRepository

    def __init__(
        self,
        database: PostgresDatabase,
        *,
        read_only: bool = False,
        actor: UUID | None = None,
        authenticated_at: datetime | None = None,
    ) -> None:
        self._database = database
        self._read_only = read_only
        self._actor = actor  # pending until a statement has carried the check
        self._authenticated_at = authenticated_at
        self._pooled: PoolProxiedConnection | None = None  # checked out with the first round trip
        self._link: Link | None = None
        self._in_slot = False
        self._entered = False
        self._writes: list[tuple[Bound, Callable[[Rows], None]]] = []
        self._claim: Bound | None = None  # an idempotency key's claim, sent with what follows

    async def __aenter__(self) -> Self:
        # Nothing is checked out yet: the connection comes with the first round trip, under
        # the same bound (see `_first_round_trip`).
        self.users = PostgresUserRepository(self)
        self.tasks = PostgresTaskRepository(self)
        self.tokens = PostgresTokenStore(self, self._database)
        self.identities = PostgresIdentityRepository(self)
        self.changes = PostgresChangeFeed(self)
        self.keys = PostgresIdempotencyKeys(self)
        self._entered = True
        return self

    def _actor_values(self) -> dict[str, Any]:
        """The binds of `repositories.actor_may_act()`."""
        return {"actor": self._actor, "authenticated_at": self._authenticated_at}

    async def check_actor(self) -> None:
        if self._actor is not None:
            await self.read(_ACTOR_MAY_ACT, self._actor_values(), actor_check_only=True)

    async def read(
        self, statement: Sql, values: dict[str, Any], *, actor_check_only: bool = False
    ) -> Rows:
        batch: list[Bound] = [(statement, values)]
        if self._claim is not None and not actor_check_only:
            batch.insert(0, self._claim)  # raises (an error aborts the pipeline) if answered
        checked = self._actor is not None and not actor_check_only
        if checked:
            batch.insert(0, (_ACTOR_MAY_ACT, self._actor_values()))
        results = await self._send(batch, repeatable=True)
        if actor_check_only or checked:
            if not results[0][0][0]:
                raise AuthenticationFailed(TOKEN_REFUSED)
            self._actor = None
        return results[-1]

    def write(
        self, statement: Sql, values: dict[str, Any], verdict: Callable[[Rows], None]
    ) -> None:
        if self._read_only:
            raise RuntimeError("a write in a read-only unit of work")
        self._writes.append(((statement, values), verdict))

    def claim(self, statement: Sql, values: dict[str, Any]) -> None:
        """Send this claim with the next read and first in the commit's batch."""
        self._claim = (statement, values)

    def carry_actor(self) -> dict[str, Any] | None:
        if self._actor is None:
            return None
        values, self._actor = self._actor_values(), None
        return values

    async def now(
        self, statement: Sql, values: dict[str, Any], *, repeatable: bool = False
    ) -> Rows:
        """A write whose answer is needed at once (a token taken, a session ended): one
        statement, one round trip, committed on its own (see `Channel.now`)."""
        if self._read_only:
            raise RuntimeError("a write in a read-only unit of work")
        return (await self._send([(statement, values)], repeatable=repeatable))[0]

    async def commit(self) -> None:
        assert self._entered, "commit() outside `async with`"
        writes, self._writes = self._writes, []
        if not writes:
            return
        if self._claim is not None:
            writes.insert(0, (self._claim, _nothing))
        results = await self._send([bound for bound, _ in writes], atomic=True)
        for (_, verdict), rows in zip(writes, results, strict=True):
            verdict(rows)

    async def _send(
        self, batch: list[Bound], *, atomic: bool = False, repeatable: bool = False
    ) -> list[Rows]:
        assert self._entered, "use the unit of work inside `async with`"
        if self._link is None:
            return await self._first_round_trip(batch, atomic=atomic, repeatable=repeatable)
        with storage_errors():
            return await self._link.send(batch, atomic=atomic)

    async def _first_round_trip(
        self, batch: list[Bound], *, atomic: bool, repeatable: bool
    ) -> list[Rows]:
        """A slot, a connection and the first batch; checkout and batch within one bound.
        Tried once more on a fresh connection when that is safe: nothing was sent (no
        connection could be had, short of the bound running out), or the batch is a read and
        its connection turned out dead (a suspend)."""
        await self._database.enter()
        self._in_slot = True
        try:
            return await self._bounded(self._check_out_and_send(batch, atomic=atomic))
        except Exception as error:
            if self._pooled is not None:  # sent: a read on a dead connection may go again
                if not (repeatable and _connection_lost(error)):
                    raise
            elif not _may_try_again(error):
                if isinstance(error, StorageUnavailable):
                    self._database.guard.breaker.trip()
                raise
        await self._drop_connection(broken=True)
        try:
            return await self._bounded(self._check_out_and_send(batch, atomic=atomic))
        except StorageUnavailable:
            if self._pooled is None:
                self._database.guard.breaker.trip()
            raise

    async def _check_out_and_send(self, batch: list[Bound], *, atomic: bool) -> list[Rows]:
        database = self._database
        self._pooled = await database.check_out()
        database.guard.breaker.close()
        self._link = Link.of(
            self._pooled,
            database.engine,
            database.timeout_per_transaction_ms,
            database.lock_timeout_per_transaction_ms,
        )
        with storage_errors():
            return await self._link.send(batch, atomic=atomic)

    async def _bounded(self, sending: Coroutine[Any, Any, list[Rows]]) -> list[Rows]:
        """The first round trip, checkout included, within the guard's deadline: a
        transaction pooler accepts a client at once and holds its first statement until a
        server connection exists, which with the database down is minutes of silence. Late,
        it is abandoned (cancelling a query nobody will confirm waits as well), its
        connection dropped, the breaker tripped: StorageUnavailable now rather than a request
        held that long."""
        attempt = asyncio.ensure_future(sending)
        try:
            done, _ = await asyncio.wait({attempt}, timeout=self._database.guard.deadline)
        except asyncio.CancelledError:  # the request itself was cancelled
            await self._abandon(attempt)
            raise
        if done:
            return attempt.result()
        self._database.guard.breaker.trip()
        await self._abandon(attempt)
        raise StorageUnavailable() from TimeoutError("no answer within the connect deadline")

    async def _abandon(self, attempt: asyncio.Future[list[Rows]]) -> None:
        # Its connection is closed, not given back: the attempt may still be talking on it.
        attempt.cancel()
        _abandoned.add(attempt)
        attempt.add_done_callback(_wound_down)
        await self._drop_connection(broken=True)

    async def _drop_connection(self, *, broken: bool) -> None:
        pooled, self._pooled, self._link = self._pooled, None, None
        if pooled is not None:
            await self._database.give_back(pooled, broken=broken)

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._writes = []  # never committed: dropped, as a rollback would
        self._entered = False
        try:
            await self._drop_connection(broken=False)
        finally:
            if self._in_slot:
                self._in_slot = False
                self._database.leave()


def _nothing(rows: Rows) -> None:
    return None


_abandoned: set[asyncio.Future[Any]] = set()  # strong references until they wind down


def _wound_down(attempt: asyncio.Future[Any]) -> None:
    _abandoned.discard(attempt)
    if not attempt.cancelled():
        attempt.exception()  # its failure (a closed connection) is expected: not worth a log line


def _may_try_again(error: BaseException) -> bool:
    """No connection could be had: worth one more try, unless the whole bound is spent."""
    return isinstance(error, StorageUnavailable) and not isinstance(error.__cause__, TimeoutError)


def _connection_lost(error: BaseException) -> bool:
    cause = error.__cause__
    return isinstance(cause, psycopg.OperationalError) or (
        isinstance(cause, psycopg.Error) and (cause.sqlstate or "").startswith(("08", "57P"))
    )


class PostgresUnitOfWorkFactory:
    """`UnitOfWorkFactory` for the services: each call opens a fresh unit of work."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    def __call__(
        self,
        *,
        read_only: bool = False,
        actor: UUID | None = None,
        authenticated_at: datetime | None = None,
    ) -> PostgresUnitOfWork:
        return PostgresUnitOfWork(
            self._database, read_only=read_only, actor=actor, authenticated_at=authenticated_at
        )
