"""In-memory fakes of the ports, shipped with the library for tests of code built on it.

`InMemoryStore` plays the database; each `InMemoryUnitOfWork` works on a private copy of it and
replays its writes onto the store on commit (re-checking uniqueness and versions there), so
uncommitted work vanishes on exit, as a rolled-back transaction would. Listing uses the
domain's own filter, order and cursor rules, the same ones the PostgreSQL adapter implements.
Task writes number themselves per user when they are replayed, i.e. in commit order, as the
PostgreSQL adapter's change feed does; idempotency keys are held by one unit of work at a time.
A test double, not a database: the application itself always runs on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cmp_to_key
from types import TracebackType
from typing import Self
from uuid import UUID

from todo_core.domain.feed import Change
from todo_core.domain.idempotency import KeyAnswered, KeyRaced, StoredOutcome
from todo_core.domain.identities import ExternalIdentity
from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.sessions import AuthSession, OneTimeToken, RefreshTokenUse, TokenPurpose
from todo_core.domain.tasks import Task
from todo_core.domain.users import User
from todo_core.errors import (
    AuthenticationFailed,
    Conflict,
    DuplicateAccount,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NotFound,
    StorageError,
    StorageUnavailable,
    VersionMismatch,
)
from todo_core.ports import EmailMessage, LoginFailureLog, LoginGate, LoginStart, ToChange

__all__ = ["FixedClock", "InMemoryEmailSender", "InMemoryStore", "InMemoryUnitOfWork"]


class InMemoryEmailSender:
    """Keeps every message in `outbox`; set `failing` to make `send` raise."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []
        self.failing = False

    async def send(self, message: EmailMessage) -> None:
        if self.failing:
            raise ConnectionError("the mail server is down")
        self.outbox.append(message)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass(frozen=True)
class _ChangeRow:
    seq: int
    deleted: bool
    changed_at: datetime


@dataclass
class _Tables:
    # Entities are rebuilt with `replace` on every way in and out, as an adapter maps rows:
    # callers never share objects with the store.
    users: dict[UUID, User] = field(default_factory=dict)
    tasks: dict[UUID, Task] = field(default_factory=dict)
    sessions: dict[UUID, AuthSession] = field(default_factory=dict)
    # refresh token hash -> (session id, used at)
    refresh_tokens: dict[bytes, tuple[UUID, datetime | None]] = field(default_factory=dict)
    one_time: dict[bytes, OneTimeToken] = field(default_factory=dict)
    identities: dict[tuple[str, str], ExternalIdentity] = field(default_factory=dict)
    counters: dict[UUID, int] = field(default_factory=dict)  # user -> last change number
    changes: dict[tuple[UUID, UUID], _ChangeRow] = field(default_factory=dict)  # (user, task)
    keys: dict[tuple[UUID, str], tuple[StoredOutcome, datetime]] = field(default_factory=dict)
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    follow_ups: dict[UUID, UUID | None] = field(default_factory=dict)  # source -> follow-up

    def copy(self) -> _Tables:
        return _Tables(
            dict(self.users),
            dict(self.tasks),
            dict(self.sessions),
            dict(self.refresh_tokens),
            dict(self.one_time),
            dict(self.identities),
            dict(self.counters),
            dict(self.changes),
            dict(self.keys),
            self.now,
            dict(self.follow_ups),
        )

    def record(self, user_id: UUID, task_id: UUID, *, deleted: bool = False) -> None:
        seq = self.counters.get(user_id, 0) + 1
        self.counters[user_id] = seq
        self.changes[user_id, task_id] = _ChangeRow(seq, deleted, self.now())

    def save_key(
        self, user_id: UUID, key: str, stored: StoredOutcome, now: datetime, expires: datetime
    ) -> bool:
        existing = self.keys.get((user_id, key))
        if existing is not None and existing[1] > now:
            return False
        self.keys[user_id, key] = (stored, expires)
        return True

    def add_follow_up(self, task: Task, source_id: UUID) -> None:
        if source_id in self.follow_ups:  # the link's primary key: a stale read
            raise Conflict()
        self.add_task(task)
        self.follow_ups[source_id] = task.id

    def add_user(self, user: User) -> None:
        self._check_unique(user)
        self.users[user.id] = replace(user)

    def update_user(self, user: User) -> None:
        if user.id not in self.users:
            return  # an UPDATE of a deleted row changes nothing
        self._check_unique(user)
        self.users[user.id] = replace(user)

    def delete_user(self, user_id: UUID) -> None:
        # ON DELETE CASCADE, as in the database
        self.users.pop(user_id, None)
        self.tasks = {k: t for k, t in self.tasks.items() if t.user_id != user_id}
        self.one_time = {k: t for k, t in self.one_time.items() if t.user_id != user_id}
        self.identities = {k: i for k, i in self.identities.items() if i.user_id != user_id}
        self.counters.pop(user_id, None)
        self.changes = {k: c for k, c in self.changes.items() if k[0] != user_id}
        self.keys = {k: v for k, v in self.keys.items() if k[0] != user_id}
        for session in [s for s in self.sessions.values() if s.user_id == user_id]:
            self.delete_session(session.id)

    def _check_unique(self, user: User) -> None:
        for other in self.users.values():
            if other.id == user.id:
                continue
            if other.email == user.email:
                raise DuplicateAccount("email")
            if user.username is not None and other.username == user.username:
                raise DuplicateAccount("username")

    def add_session(self, session: AuthSession, token_hash: bytes) -> None:
        if session.user_id not in self.users:
            raise StorageError()  # a foreign key violation in a real database
        for old in [s for s in self.sessions.values() if s.user_id == session.user_id]:
            if old.expires_at < session.created_at:
                self.delete_session(old.id)
        self.sessions[session.id] = replace(session)
        self.refresh_tokens[token_hash] = (session.id, None)

    def use_refresh_token(self, token_hash: bytes, now: datetime) -> None:
        found = self.refresh_tokens.get(token_hash)
        if found is not None:  # its session may have ended meanwhile
            self.refresh_tokens[token_hash] = (found[0], found[1] or now)

    def rotate(self, session: AuthSession, token_hash: bytes) -> None:
        if session.id in self.sessions:
            self.sessions[session.id] = replace(session)
            self.refresh_tokens[token_hash] = (session.id, None)

    def delete_session(self, session_id: UUID) -> None:
        self.sessions.pop(session_id, None)
        self.refresh_tokens = {k: v for k, v in self.refresh_tokens.items() if v[0] != session_id}

    def add_one_time(self, token: OneTimeToken) -> None:
        if token.user_id not in self.users or token.token_hash in self.one_time:
            raise StorageError()
        self.one_time[token.token_hash] = token

    def take_one_time(self, token_hash: bytes) -> None:
        self.one_time.pop(token_hash, None)

    def delete_one_time(
        self, user_id: UUID, purpose: TokenPurpose, expired_before: datetime | None
    ) -> None:
        self.one_time = {
            k: t
            for k, t in self.one_time.items()
            if not (
                t.user_id == user_id
                and t.purpose == purpose
                and (expired_before is None or t.expires_at < expired_before)
            )
        }

    def add_identity(self, identity: ExternalIdentity) -> None:
        key = (identity.issuer, identity.subject)
        if key in self.identities:
            raise Conflict()  # the primary key in a real database
        if identity.user_id not in self.users:
            raise StorageError()  # the foreign key
        self.identities[key] = replace(identity)

    def update_identity(self, identity: ExternalIdentity) -> None:
        key = (identity.issuer, identity.subject)
        if key in self.identities:
            self.identities[key] = replace(identity)

    def add_task(self, task: Task) -> None:
        if task.user_id not in self.users or task.id in self.tasks:
            raise StorageError()  # a foreign key or primary key violation in a real database
        self.tasks[task.id] = replace(task)
        self.record(task.user_id, task.id)

    def update_task(self, task: Task, expected_version: int) -> None:
        stored = self.tasks.get(task.id)
        if stored is None or stored.user_id != task.user_id:
            raise NotFound("task")
        if stored.version != expected_version:
            raise VersionMismatch(stored.version)
        self.tasks[task.id] = replace(task)
        self.record(task.user_id, task.id)

    def delete_task(self, user_id: UUID, task_id: UUID, expected_version: int | None) -> None:
        stored = self.tasks.get(task_id)
        if stored is None or stored.user_id != user_id:
            raise NotFound("task")
        if expected_version is not None and stored.version != expected_version:
            raise VersionMismatch(stored.version)
        del self.tasks[task_id]
        self.record(user_id, task_id, deleted=True)
        self.follow_ups.pop(task_id, None)  # the link goes with its source (ON DELETE CASCADE)
        for source, follow_up in self.follow_ups.items():  # and a follow-up's is kept, emptied
            if follow_up == task_id:
                self.follow_ups[source] = None


class InMemoryStore:
    """The shared "database". Set `unavailable` to make every unit of work fail to start.
    `now` stamps tombstones (the database's own clock in PostgreSQL)."""

    def __init__(self, *, now: Callable[[], datetime] | None = None) -> None:
        self.tables = _Tables(now=now or (lambda: datetime.now(UTC)))
        self.unavailable = False
        self.commits = 0
        self.held_keys: set[tuple[UUID, str]] = set()  # claimed by a unit of work right now

    def unit_of_work(
        self,
        *,
        read_only: bool = False,
        actor: UUID | None = None,
        authenticated_at: datetime | None = None,
    ) -> InMemoryUnitOfWork:
        """Pass this bound method as a service's `uow` factory."""
        return InMemoryUnitOfWork(
            self, read_only=read_only, actor=actor, authenticated_at=authenticated_at
        )


class InMemoryUnitOfWork:
    def __init__(
        self,
        store: InMemoryStore,
        *,
        read_only: bool = False,
        actor: UUID | None = None,
        authenticated_at: datetime | None = None,
    ) -> None:
        self._store = store
        self._read_only = read_only
        self._actor = actor
        self._authenticated_at = authenticated_at
        self._tables: _Tables | None = None
        self._writes: list[Callable[[_Tables], None]] = []
        self.users = _Users(self)
        self.tasks = _Tasks(self)
        self.tokens = _Tokens(self)
        self.identities = _Identities(self)
        self.changes = _Changes(self)
        self.keys = _Keys(self)
        self.held: set[tuple[UUID, str]] = set()

    async def __aenter__(self) -> Self:
        if self._store.unavailable:
            raise StorageUnavailable()
        self._tables, self._writes = self._store.tables.copy(), []
        await self.check_actor()  # PostgreSQL checks with the first statement: same outcome
        return self

    async def check_actor(self) -> None:
        if self._actor is None:
            return
        actor = self.read().users.get(self._actor)
        if actor is None or not actor.accepts_token(self._authenticated_at):
            raise AuthenticationFailed("The access token is no longer valid; log in again.")

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._tables, self._writes = None, []  # anything not committed is dropped
        self._store.held_keys -= self.held
        self.held = set()

    async def commit(self) -> None:
        tables = self._store.tables.copy()
        for write in self._writes:
            write(tables)  # replayed, so a concurrent commit's changes are checked against
        self._store.tables, self._writes = tables, []
        self._store.commits += 1

    @property
    def store(self) -> InMemoryStore:
        return self._store

    def read(self) -> _Tables:
        if self._tables is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._tables

    def write(self, change: Callable[[_Tables], None]) -> None:
        if self._read_only:  # the promise a service made; an adapter may rely on it
            raise RuntimeError("a write in a read-only unit of work")
        change(self.read())  # fail now, as a database statement would
        self._writes.append(change)


class _Users:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    async def add(self, user: User) -> None:
        user = replace(user)
        self._uow.write(lambda tables: tables.add_user(user))

    async def get(self, user_id: UUID) -> User | None:
        user = self._uow.read().users.get(user_id)
        return None if user is None else replace(user)

    async def get_by_login(self, login: str) -> User | None:
        key = "email" if "@" in login else "username"
        users = self._uow.read().users.values()
        return next((replace(u) for u in users if getattr(u, key) == login), None)

    async def update(self, user: User) -> None:
        user = replace(user)
        self._uow.write(lambda tables: tables.update_user(user))

    async def delete(self, user_id: UUID) -> None:
        self._uow.write(lambda tables: tables.delete_user(user_id))


class _Tokens:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    def holds(self, log: LoginFailureLog) -> bool:
        return False  # no login-failure log lives here: the service asks its own log

    async def start_login(
        self,
        *,
        login: str | None,
        session: AuthSession,
        token_hash: bytes,
        gate: LoginGate | None = None,
    ) -> LoginStart:
        if gate is not None:
            raise RuntimeError("a gate for a log this store does not hold")
        user = None if login is None else await self._uow.users.get_by_login(login)
        started = user is not None and user.is_active and user.has_password
        if user is not None and started and session.id not in self._uow.read().sessions:
            await self.add_session(replace(session, user_id=user.id), token_hash=token_hash)
            await self._uow.commit()  # committed on its own, as the PostgreSQL statement is
        return LoginStart(user, started, {})

    async def fail_login(self, *, session_id: UUID, gate: LoginGate | None = None) -> None:
        if gate is not None:
            raise RuntimeError("a gate for a log this store does not hold")
        if await self.delete_session(session_id):
            await self._uow.commit()

    async def add_session(self, session: AuthSession, *, token_hash: bytes) -> None:
        session = replace(session)
        self._uow.write(lambda tables: tables.add_session(session, token_hash))

    async def use_refresh_token(
        self, token_hash: bytes, *, now: datetime
    ) -> RefreshTokenUse | None:
        tables = self._uow.read()
        found = tables.refresh_tokens.get(token_hash)
        session = None if found is None else tables.sessions.get(found[0])
        if found is None or session is None:
            return None
        self._uow.write(lambda tables: tables.use_refresh_token(token_hash, now))
        return RefreshTokenUse(replace(session), reused=found[1] is not None)

    async def rotate(self, session: AuthSession, *, token_hash: bytes) -> None:
        session = replace(session)
        self._uow.write(lambda tables: tables.rotate(session, token_hash))

    async def sessions(self, user_id: UUID, *, now: datetime) -> list[AuthSession]:
        found = [
            replace(s)
            for s in self._uow.read().sessions.values()
            if s.user_id == user_id and not s.is_expired(now)
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id), reverse=True)

    async def delete_session(self, session_id: UUID, *, user_id: UUID | None = None) -> bool:
        session = self._uow.read().sessions.get(session_id)
        if session is None or (user_id is not None and session.user_id != user_id):
            return False
        self._uow.write(lambda tables: tables.delete_session(session_id))
        return True

    async def delete_sessions(
        self, user_id: UUID, *, expired_before: datetime | None = None
    ) -> None:
        for session in list(self._uow.read().sessions.values()):
            if session.user_id == user_id and (
                expired_before is None or session.expires_at < expired_before
            ):
                await self.delete_session(session.id)

    async def add_one_time(self, token: OneTimeToken) -> None:
        self._uow.write(lambda tables: tables.add_one_time(token))

    async def take_one_time(self, token_hash: bytes, purpose: TokenPurpose) -> OneTimeToken | None:
        token = self._uow.read().one_time.get(token_hash)
        if token is None or token.purpose != purpose:
            return None
        self._uow.write(lambda tables: tables.take_one_time(token_hash))
        return token

    async def delete_one_time(
        self, user_id: UUID, purpose: TokenPurpose, *, expired_before: datetime | None = None
    ) -> None:
        self._uow.write(lambda tables: tables.delete_one_time(user_id, purpose, expired_before))


class _Identities:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    async def get(self, *, issuer: str, subject: str) -> ExternalIdentity | None:
        identity = self._uow.read().identities.get((issuer, subject))
        if identity is None or identity.user_id not in self._uow.read().users:
            return None  # ON DELETE CASCADE in a real database
        return replace(identity)

    async def add(self, identity: ExternalIdentity) -> None:
        identity = replace(identity)
        self._uow.write(lambda tables: tables.add_identity(identity))

    async def update(self, identity: ExternalIdentity) -> None:
        identity = replace(identity)
        self._uow.write(lambda tables: tables.update_identity(identity))

    async def list_for_user(self, user_id: UUID) -> list[ExternalIdentity]:
        found = [i for i in self._uow.read().identities.values() if i.user_id == user_id]
        return [replace(i) for i in sorted(found, key=lambda i: i.created_at)]


class _Tasks:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    async def add(self, task: Task) -> None:
        task = replace(task)
        self._uow.write(lambda tables: tables.add_task(task))

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        task = self._uow.read().tasks.get(task_id)
        return replace(task) if task is not None and task.user_id == user_id else None

    async def get_to_change(self, *, user_id: UUID, task_id: UUID) -> ToChange | None:
        task = await self.get(user_id=user_id, task_id=task_id)
        return None if task is None else ToChange(task, task_id in self._uow.read().follow_ups)

    async def update(
        self, task: Task, *, expected_version: int, follow_up: Task | None = None
    ) -> None:
        task = replace(task)
        following = None if follow_up is None else replace(follow_up)

        def change(tables: _Tables) -> None:
            tables.update_task(task, expected_version)
            if following is not None:
                tables.add_follow_up(following, task.id)

        self._uow.write(change)

    async def delete(
        self, *, user_id: UUID, task_id: UUID, expected_version: int | None = None
    ) -> None:
        self._uow.write(lambda tables: tables.delete_task(user_id, task_id, expected_version))

    async def list(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> TaskPage:
        cursor, sort = query.cursor, query.sort
        rows = [
            task
            for task in self._uow.read().tasks.values()
            if task.user_id == user_id
            and query.matches(task, now)
            and (cursor is None or cursor.admits(task))
        ]
        rows.sort(key=cmp_to_key(sort.compare_tasks))
        return TaskPage.from_rows([replace(t) for t in rows[: query.limit + 1]], query)


class _Changes:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    async def read(
        self, *, user_id: UUID, after: int, limit: int, include_deleted: bool = True
    ) -> list[Change]:
        tables = self._uow.read()
        rows = sorted(
            (row.seq, task_id, row.deleted)
            for (owner, task_id), row in tables.changes.items()
            if owner == user_id and row.seq > after and (include_deleted or not row.deleted)
        )
        return [
            Change.delete(seq, task_id)
            if deleted
            else Change.upsert(seq, replace(tables.tasks[task_id]))
            for seq, task_id, deleted in rows[: limit + 1]
        ]

    async def purge(self, *, before: datetime, limit: int) -> int:
        def drop(tables: _Tables) -> None:
            old = [
                k for k, row in tables.changes.items() if row.deleted and row.changed_at < before
            ]
            for key in old[:limit]:
                del tables.changes[key]

        old = [r for r in self._uow.read().changes.values() if r.deleted and r.changed_at < before]
        self._uow.write(drop)
        return min(len(old), limit)


class _Keys:
    def __init__(self, uow: InMemoryUnitOfWork) -> None:
        self._uow = uow

    async def claim(self, *, user_id: UUID, key: str, fingerprint: str, now: datetime) -> None:
        held = self._uow.store.held_keys
        if (user_id, key) in held and (user_id, key) not in self._uow.held:
            raise IdempotencyKeyInUse()
        held.add((user_id, key))
        self._uow.held.add((user_id, key))
        stored = await self.find(user_id=user_id, key=key, now=now)
        if stored is None:
            return
        if stored.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        raise KeyAnswered()

    async def find(self, *, user_id: UUID, key: str, now: datetime) -> StoredOutcome | None:
        found = self._uow.read().keys.get((user_id, key))
        return found[0] if found is not None and found[1] > now else None

    async def save(
        self,
        *,
        user_id: UUID,
        key: str,
        stored: StoredOutcome,
        touched: frozenset[UUID],
        now: datetime,
        expires_at: datetime,
    ) -> None:
        # Writes here fail when made, before the save: `touched` needs no check.
        def keep(tables: _Tables) -> None:
            if not tables.save_key(user_id, key, stored, now, expires_at):
                raise KeyRaced()  # the key's uniqueness, checked again at commit

        self._uow.write(keep)

    async def purge(self, *, before: datetime, limit: int) -> int:
        def drop(tables: _Tables) -> None:
            old = [k for k, (_, expires) in tables.keys.items() if expires <= before]
            for k in old[:limit]:
                del tables.keys[k]

        old = [k for k, (_, expires) in self._uow.read().keys.items() if expires <= before]
        self._uow.write(drop)
        return min(len(old), limit)
