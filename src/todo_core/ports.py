"""The ports: what the services need from the outside world, as `typing.Protocol`s.

Adapters implement them (`todo_core.postgres` for PostgreSQL, `todo_core.testing` in memory).
Every adapter error reaches the services as a `todo_core.errors` error, never a driver's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from todo_core.domain.feed import Change
from todo_core.domain.idempotency import StoredOutcome
from todo_core.domain.identities import ExternalIdentity
from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.sessions import AuthSession, OneTimeToken, RefreshTokenUse, TokenPurpose
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

    async def update(self, user: User) -> None:
        """Store every field of `user` but `id` and `created_at`; DuplicateAccount(field=...)
        when the new email or username is taken."""
        ...

    async def delete(self, user_id: UUID) -> None:
        """Delete the user and, with them, their tasks, sessions and tokens."""
        ...


class TokenStore(Protocol):
    """Sessions with their refresh tokens, and one-time tokens; only hashes are stored."""

    def holds(self, log: LoginFailureLog) -> bool:
        """Whether `log` keeps its failures in this store: then `start_login` and
        `fail_login` read and record them in their own statements (no round trip of their
        own), given the login's `LoginGate`."""
        ...

    async def start_login(
        self,
        *,
        login: str | None,
        session: AuthSession,
        token_hash: bytes,
        gate: LoginGate | None = None,
    ) -> LoginStart:
        """A login's first and (when its password verifies) only round trip, committed on its
        own: the user with this normalised email or username (None: no such user), and, for
        an active user with a password, `session` started for them (its `user_id` is theirs,
        whatever `session` says) with its first refresh token, as `add_session` would. With
        `gate` (a log this store `holds`): also its keys' recent failures, and no session is
        started when a key has reached its limit.

        Speculative: the password is checked afterwards; the session's refresh token is
        handed out only if it verifies, so until `fail_login` drops it the session is inert
        (nobody holds its token). Safe to send again: the same `session` is started once."""
        ...

    async def fail_login(self, *, session_id: UUID, gate: LoginGate | None = None) -> None:
        """Drop the session a failed `start_login` may have started (none: nothing to drop)
        and, with `gate` (a log this store `holds`), record the failure for its keys, in one
        round trip."""
        ...

    async def add_session(self, session: AuthSession, *, token_hash: bytes) -> None:
        """A new session whose first refresh token hashes to `token_hash`; the user's
        sessions that had expired by the new one's start are dropped on the way."""
        ...

    async def use_refresh_token(
        self, token_hash: bytes, *, now: datetime
    ) -> RefreshTokenUse | None:
        """Mark the token used, atomically: of two concurrent uses only one sees it fresh.
        None when no session holds the token (unknown, or its session ended)."""
        ...

    async def rotate(self, session: AuthSession, *, token_hash: bytes) -> None:
        """Store the session's new last use and expiry, and its next refresh token."""
        ...

    async def sessions(self, user_id: UUID, *, now: datetime) -> list[AuthSession]:
        """The user's unexpired sessions, newest first."""
        ...

    async def delete_session(self, session_id: UUID, *, user_id: UUID | None = None) -> bool:
        """End the session (and its tokens); with `user_id`, only if it is theirs.
        False when there was no such session."""
        ...

    async def delete_sessions(
        self, user_id: UUID, *, expired_before: datetime | None = None
    ) -> None:
        """End every session of the user (or only those expired before the given time)."""
        ...

    async def add_one_time(self, token: OneTimeToken) -> None: ...

    async def take_one_time(self, token_hash: bytes, purpose: TokenPurpose) -> OneTimeToken | None:
        """Remove and return the token (single use), expired or not; None if unknown."""
        ...

    async def delete_one_time(
        self, user_id: UUID, purpose: TokenPurpose, *, expired_before: datetime | None = None
    ) -> None:
        """Drop the user's tokens of this purpose (or only those expired before the time)."""
        ...


class IdentityRepository(Protocol):
    """External identities, each (issuer, subject) linked to one local user."""

    async def get(self, *, issuer: str, subject: str) -> ExternalIdentity | None: ...

    async def add(self, identity: ExternalIdentity) -> None:
        """Raises Conflict when (issuer, subject) is already linked."""
        ...

    async def update(self, identity: ExternalIdentity) -> None:
        """Store the identity's profile fields, `claims_issued_at` and `updated_at`."""
        ...

    async def list_for_user(self, user_id: UUID) -> list[ExternalIdentity]:
        """The user's identities, oldest first (empty for a local-only account)."""
        ...


@dataclass(frozen=True)
class ToChange:
    """A task loaded to be changed: `followed_up` says its completion already created its next
    occurrence (kept true after a reopen, or once that follow-up is deleted)."""

    task: Task
    followed_up: bool


class TaskRepository(Protocol):
    """Every write (add, update, delete) also records a change for the owner's feed, in the
    same transaction: see `ChangeFeed`."""

    async def add(self, task: Task) -> None: ...

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        """None also when the task exists but belongs to another user."""
        ...

    async def get_to_change(self, *, user_id: UUID, task_id: UUID) -> ToChange | None:
        """`get`, plus whether the task's next occurrence was ever created (same round trip)."""
        ...

    async def update(
        self, task: Task, *, expected_version: int, follow_up: Task | None = None
    ) -> None:
        """Store every field of `task`, `version` included, if the stored version is
        `expected_version`; otherwise raise VersionMismatch(current_version=<stored>), or
        NotFound("task") if the task is gone. `follow_up` (a completed recurring task's next
        occurrence) is added in the same step, only if the update applies; if `task` had one
        before (at most one per occurrence, ever: see `get_to_change`), nothing is stored and
        Conflict is raised. May raise when the unit of work commits rather than at once."""
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


class ChangeFeed(Protocol):
    """The per-user change log that task writes leave behind.

    Each task write gives the task the owner's next change number; numbers grow in the order
    the writes commit, so a reader that has seen everything up to n never finds a later
    commit with a number at or below n (see `todo_core.postgres.feed` for how PostgreSQL
    keeps that promise under concurrent writers). A deleted task keeps a tombstone.
    """

    async def read(
        self, *, user_id: UUID, after: int, limit: int, include_deleted: bool = True
    ) -> list[Change]:
        """Up to `limit` + 1 changes numbered after `after`, oldest first; each task once,
        in its latest state."""
        ...

    async def purge(self, *, before: datetime, limit: int) -> int:
        """Drop at most `limit` tombstones older than `before`; returns how many. Never waits
        for a running write."""
        ...


class IdempotencyKeyRepository(Protocol):
    """Keys of keyed writes, claimed and saved inside the write's own unit of work. `claim`
    returns nothing on purpose: an adapter may send it blind, in the same round trip as the
    write's statements, since every outcome but "go on" aborts the unit of work."""

    async def claim(self, *, user_id: UUID, key: str, fingerprint: str, now: datetime) -> None:
        """Hold the user's `key` until the unit of work ends, without waiting. Raises, and the
        unit of work is then unusable: IdempotencyKeyInUse (another unit of work holds it),
        IdempotencyKeyReused (a live answer stored for another fingerprint), KeyAnswered (a
        live answer stored for this fingerprint: `find` it in a fresh unit of work)."""
        ...

    async def find(self, *, user_id: UUID, key: str, now: datetime) -> StoredOutcome | None:
        """The live (unexpired) answer stored under the key, if any."""
        ...

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
        """Keep `stored` under the key until `expires_at`, with the write's effect. Raises
        KeyRaced when another unit of work committed the key since the claim, and (an adapter
        that applies writes at commit) KeyEffectMissing when one of the `touched` tasks was not
        written after all: the unit of work then commits nothing."""
        ...

    async def purge(self, *, before: datetime, limit: int) -> int:
        """Drop at most `limit` keys that expired before `before`; returns how many. Never
        waits for a running write."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving the `async with` block rolls back whatever was not committed.

    Opened on behalf of an `actor` (a user id), it raises AuthenticationFailed if they do not
    exist, are inactive or their token predates a revocation: at the latest with the first
    repository call, before its result is returned or its write takes effect (an adapter may
    defer the check to ride on that call's own round trip; writes may be deferred to
    `commit()` and raise there)."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def tasks(self) -> TaskRepository: ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def changes(self) -> ChangeFeed: ...

    @property
    def keys(self) -> IdempotencyKeyRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def check_actor(self) -> None:
        """Raise AuthenticationFailed now if the actor may not act (a no-op without one)."""
        ...


class UnitOfWorkFactory(Protocol):
    def __call__(
        self,
        *,
        read_only: bool = False,
        actor: UUID | None = None,
        authenticated_at: datetime | None = None,
    ) -> UnitOfWork:
        """A fresh unit of work. `read_only=True` promises no writes (and no commit), which
        lets an adapter skip the transaction. `actor`: the user on whose behalf it acts, with
        `authenticated_at` their access token's issue time (see `User.accepts_token`)."""
        ...


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str


class EmailSender(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver the message; may raise anything (callers log it and carry on)."""
        ...


@dataclass(frozen=True)
class HealthReport:
    database_ok: bool
    migration_current: bool | None  # None when the database could not be asked
    # Reachable, but every pooled connection is in use: requests queue (and may answer 503
    # busy), which is load, not an outage.
    database_busy: bool = False


class HealthProbe(Protocol):
    async def check(self) -> HealthReport: ...


class LoginFailureLog(Protocol):
    """Recent failed logins per key (an account, a client address), for a login throttle.

    One log shared by every process that serves logins makes the limits hold for the whole
    deployment; the PostgreSQL adapter keeps it in a table. Times are the store's own clock.
    """

    async def recent(self, keys: Sequence[str], *, window: float) -> dict[str, list[float]]:
        """Each key's failures within the last `window` seconds, as ages in seconds, newest
        first; keys without any are left out."""
        ...

    async def record(self, keys: Sequence[str], *, window: float, keep: int) -> None:
        """One failure now for each key (at most `keep` kept per key); forgets keys whose
        failures have all left the window."""
        ...

    async def clear(self, key: str) -> None:
        """Forget `key`'s failures (its login succeeded)."""
        ...


class LoginGate(Protocol):
    """One login attempt's throttle (`todo_api.throttle` makes them): the keys whose recent
    failures in `log` decide, each refused once it has `limits[key]` failures within the last
    `window` seconds. A store that `holds` the log reads and records them inside the login's
    own statements (see `TokenStore.start_login`), by the same rule as `admit`."""

    @property
    def log(self) -> LoginFailureLog: ...

    @property
    def limits(self) -> Mapping[str, int]: ...

    @property
    def window(self) -> float: ...

    @property
    def keep(self) -> int:
        """Failures kept per key when one is recorded."""
        ...

    @property
    def account(self) -> str:
        """The key whose failures a successful login forgets."""
        ...

    def admit(self, recent: Mapping[str, Sequence[float]]) -> None:
        """Raise the caller's refusal (an HTTP 429, say) when a key of `recent` (ages in
        seconds, as `LoginFailureLog.recent` gives them) has reached its limit."""
        ...


@dataclass(frozen=True)
class LoginStart:
    """What `TokenStore.start_login` found and did."""

    user: User | None  # the user with this login; None when there is none
    started: bool  # the session was started (for them: an active user with a password)
    recent: dict[str, list[float]]  # the gate's keys' recent failures (without a gate: none)
