"""User, task and external-identity repositories: Core statements over the SQLModel tables,
compiled once (`link.sql`), sent through the unit of work's `Channel` so that a request costs
one round trip (two for read-modify-write).

The acting user's check rides on the operation's own round trip (see `unit_of_work`): a read
of one task folds it in beside the task (`_with_verdict`), other reads are pipelined behind
`ACTOR_MAY_ACT`; a write folds `actor_may_act()` into its own statement
(`INSERT ... SELECT ... WHERE <actor may act>`, `DELETE ... WHERE ... AND <actor may act>`),
so a refused actor writes nothing and the answer tells "actor refused", "not found", "stale
version" and success apart without a second statement.

Writes with a consequence are one statement too: a completion's follow-up is inserted by a
data-modifying CTE that selects FROM the UPDATE's RETURNING, so it exists only if the update
applied, and only through its link in `task_follow_ups` (`ON CONFLICT (source_id) DO
NOTHING`), so an occurrence gets at most one, ever. A change-feed record or an idempotency
key (issue 14) joins the same way: one more CTE `INSERT ... SELECT ... FROM changed`, same
statement, same round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import (
    DateTime,
    Table,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from todo_core.domain.identities import ExternalIdentity
from todo_core.domain.queries import TaskPage, TaskQuery
from todo_core.domain.tasks import Priority, Task
from todo_core.domain.users import User
from todo_core.domain.validation import to_utc
from todo_core.errors import AuthenticationFailed, NotFound, VersionMismatch
from todo_core.ports import ToChange
from todo_core.postgres.link import Rows, Sql, sql
from todo_core.postgres.listing import PageStatements
from todo_core.postgres.tables import ExternalIdentityRow, TaskFollowUpRow, TaskRow, UserRow

users: Table = UserRow.__table__  # type: ignore[attr-defined]
tasks: Table = TaskRow.__table__  # type: ignore[attr-defined]
identities: Table = ExternalIdentityRow.__table__  # type: ignore[attr-defined]
follow_ups: Table = TaskFollowUpRow.__table__  # type: ignore[attr-defined]
E = TypeVar("E")


class Channel(Protocol):
    """What a repository needs from its unit of work."""

    async def read(self, statement: Sql, values: dict[str, Any]) -> Rows:
        """The rows, in one round trip (with the actor's check, while it is pending)."""
        ...

    def write(
        self, statement: Sql, values: dict[str, Any], verdict: Callable[[Rows], None]
    ) -> None:
        """Queue a write for the commit; `verdict` reads its rows then (and may raise)."""
        ...

    def carry_actor(self) -> dict[str, Any] | None:
        """The actor's bind values if the check is still pending (the caller's statement
        then carries it, and the unit of work counts it as done), else None."""
        ...

    async def now(
        self, statement: Sql, values: dict[str, Any], *, repeatable: bool = False
    ) -> Rows:
        """A write whose answer is needed at once: sent now, committed on its own.
        `repeatable`: the statement is safe to send again (it does its work once, and
        answers the same), so a connection found dead on the first round trip is replaced
        and the statement resent, as a read is."""
        ...


TOKEN_REFUSED = "The access token is no longer valid; log in again."  # noqa: S105 - a message


def actor_may_act() -> ColumnElement[bool]:
    """The one rule for the acting user, in SQL (`User.accepts_token` in Python): they exist,
    are active, and the token was issued at or after their last revocation (binds `actor` and
    `authenticated_at`, None when the caller did not say)."""
    issued = bindparam("authenticated_at", type_=DateTime(timezone=True))
    return exists().where(
        users.c.id == bindparam("actor"),
        users.c.is_active,
        or_(
            issued.is_(None),
            users.c.tokens_valid_after.is_(None),
            issued >= users.c.tokens_valid_after,
        ),
    )


ACTOR_MAY_ACT = select(actor_may_act())


class _RowMapping(Generic[E]):
    """Rows of `table` as `entity`s: the columns to select, in the entity's field order (checked
    here, once), and the conversion of each row, positionally, in one step. Driver values become
    the domain's types here, not in the entity: every timestamp in UTC whatever the session's
    zone, and each `untyped` column through its converter. Untyped columns skip SQLAlchemy's
    result processing: doing it there as well cost ~7% of a list request."""

    def __init__(
        self, table: Table, entity: type[E], *, untyped: dict[str, Callable[[Any], Any]]
    ) -> None:
        names = [f.name for f in fields(entity)]  # type: ignore[arg-type]
        if names != [column.name for column in table.columns]:
            raise RuntimeError(f"{entity.__name__} fields and table {table.name} columns differ")
        self.names = names
        self.columns: list[Any] = [
            type_coerce(column, NullType()).label(column.name) if column.name in untyped else column
            for column in table.columns
        ]
        self._entity = entity
        self._conversions = [
            (index, untyped.get(column.name) or _in_utc(column.name))
            for index, column in enumerate(table.columns)
            if column.name in untyped or isinstance(column.type, DateTime)
        ]

    def entity(self, row: Sequence[Any]) -> E:
        values = list(row)
        for index, convert in self._conversions:
            values[index] = convert(values[index])
        return self._entity(*values)


def _in_utc(name: str) -> Callable[[datetime | None], datetime | None]:
    def convert(value: datetime | None) -> datetime | None:
        if value is None or (value.__class__ is datetime and value.tzinfo is UTC):
            return value  # the common case (the session's zone is UTC): a list has 100s
        return to_utc(name, value)

    return convert


_PRIORITIES = {priority.value: priority for priority in Priority}  # faster than Priority(label)
TASK_ROWS = _RowMapping(tasks, Task, untyped={"priority": _PRIORITIES.__getitem__, "tags": tuple})
USER_ROWS = _RowMapping(users, User, untyped={})
_IDENTITY_ROWS = _RowMapping(identities, ExternalIdentity, untyped={})
TASK_COLUMNS = TASK_ROWS.columns
_TASK_FIELDS = TASK_ROWS.names
_USER_FIELDS = USER_ROWS.names
UNCHANGING = ("id", "user_id", "created_at")  # never in an UPDATE's SET
_CHANGING = [name for name in _TASK_FIELDS if name not in UNCHANGING]

_UPDATE_USER = sql(
    update(users)
    .where(users.c.id == bindparam("user_key"))
    .values(
        {
            name: bindparam(name, type_=users.c[name].type)
            for name in USER_ROWS.names
            if name not in ("id", "created_at")
        }
    )
)
_DELETE_USER = sql(delete(users).where(users.c.id == bindparam("user_key")))
_USER_BY = {
    key: sql(select(*USER_ROWS.columns).where(users.c[key] == bindparam("value")))
    for key in ("id", "email", "username")
}
_ADD_USER = sql(
    insert(users).values({n: bindparam(n, type_=users.c[n].type) for n in _USER_FIELDS})
)

_THIS_IDENTITY = (
    identities.c.issuer == bindparam("this_issuer"),
    identities.c.subject == bindparam("this_subject"),
)
_GET_IDENTITY = sql(select(*_IDENTITY_ROWS.columns).where(*_THIS_IDENTITY))
_ADD_IDENTITY = sql(
    insert(identities).values(
        {n: bindparam(n, type_=identities.c[n].type) for n in _IDENTITY_ROWS.names}
    )
)
_FOLLOWED = ("email", "name", "email_verified", "claims_issued_at", "updated_at")
_UPDATE_IDENTITY = sql(
    update(identities)
    .where(*_THIS_IDENTITY)
    .values({n: bindparam(n, type_=identities.c[n].type) for n in _FOLLOWED})
)
_IDENTITIES_OF = sql(
    select(*_IDENTITY_ROWS.columns)
    .where(identities.c.user_id == bindparam("user_key"))
    .order_by(identities.c.created_at, identities.c.issuer, identities.c.subject)
)


def _with_verdict(statement: Select[Any]) -> Sql:
    """A read of at most one row with the actor's check folded in: always one row, the verdict
    first, then the statement's columns (all NULL when it found nothing). One statement costs
    less to send and to read back than the check pipelined before it."""
    verdict = select(actor_may_act().label("may_act")).subquery("verdict")
    found = statement.subquery("found")
    return sql(select(verdict.c.may_act, *found.c).select_from(verdict.outerjoin(found, true())))


def _found(rows: Rows) -> tuple[Any, ...] | None:
    """The row of a `_with_verdict` read, or None; AuthenticationFailed if the actor may not
    act."""
    may_act, *columns = rows[0]
    if not may_act:
        raise AuthenticationFailed(TOKEN_REFUSED)
    return None if columns[0] is None else tuple(columns)  # the first column is a primary key


_THIS_TASK = (tasks.c.id == bindparam("task_id"), tasks.c.user_id == bindparam("owner"))
_GET_TASK_STATEMENT = select(*TASK_COLUMNS).where(*_THIS_TASK)
_GET_TASK = (sql(_GET_TASK_STATEMENT), _with_verdict(_GET_TASK_STATEMENT))
_FOLLOWED_UP = exists().where(follow_ups.c.source_id == tasks.c.id)
_TO_CHANGE_STATEMENT = select(*TASK_COLUMNS, _FOLLOWED_UP).where(*_THIS_TASK)
_GET_TASK_TO_CHANGE = (sql(_TO_CHANGE_STATEMENT), _with_verdict(_TO_CHANGE_STATEMENT))
_TASK_PAGES = PageStatements(tasks, TASK_COLUMNS)
_STORED_VERSION = select(tasks.c.version).where(*_THIS_TASK).scalar_subquery()


def _task_binds(prefix: str = "") -> list[Any]:
    return [bindparam(prefix + name, type_=tasks.c[name].type) for name in _TASK_FIELDS]


_ADD_TASK = sql(insert(tasks).values(dict(zip(_TASK_FIELDS, _task_binds(), strict=True))))
# The actor's check folded in: no row is inserted (and none returned) if they may not act.
_ADD_TASK_AS_ACTOR = sql(
    insert(tasks)
    .from_select(_TASK_FIELDS, select(*_task_binds()).where(actor_may_act()))
    .returning(tasks.c.id)
)


def _update_statement(*, follow_up: bool) -> Sql:
    """(updated id or NULL, the version stored before): a NULL id with a NULL version means
    the task is gone, with a version that it changed since it was loaded. The follow-up is
    inserted with its link to the task it follows, whose primary key (the source) refuses a
    second follow-up for the same occurrence: the statement fails, nothing of it is stored
    (the foreign keys are checked at the end of the statement, when both rows exist)."""
    changed = (
        update(tasks)
        .where(*_THIS_TASK, tasks.c.version == bindparam("loaded"))
        .values({name: bindparam(name, type_=tasks.c[name].type) for name in _CHANGING})
        .returning(tasks.c.id)
        .cte("changed")
    )
    statement = select(select(changed.c.id).scalar_subquery(), _STORED_VERSION)
    if follow_up:
        link = (
            insert(follow_ups)
            .from_select(
                ["source_id", "follow_up_id"],
                select(changed.c.id, bindparam("next_id", type_=tasks.c.id.type)),
            )
            .returning(follow_ups.c.follow_up_id)
            .cte("link")
        )
        following = insert(tasks).from_select(
            _TASK_FIELDS, select(*_task_binds("next_")).select_from(link)
        )
        statement = statement.add_cte(following.cte("following"))
    return sql(statement)


_UPDATE_TASK = {follow_up: _update_statement(follow_up=follow_up) for follow_up in (False, True)}


def _delete_statement(*, at_version: bool, as_actor: bool) -> Sql:
    """(actor may act, deleted id or NULL, the version stored before), in one statement."""
    conditions: list[Any] = [*_THIS_TASK]
    if at_version:
        conditions.append(tasks.c.version == bindparam("loaded"))
    if as_actor:
        conditions.append(actor_may_act())
    gone = delete(tasks).where(*conditions).returning(tasks.c.id).cte("gone")
    verdict = actor_may_act() if as_actor else true()
    return sql(select(verdict, select(gone.c.id).scalar_subquery(), _STORED_VERSION))


_DELETE_TASK = {
    (at_version, as_actor): _delete_statement(at_version=at_version, as_actor=as_actor)
    for at_version in (False, True)
    for as_actor in (False, True)
}


def task_values(task: Task, prefix: str = "") -> dict[str, Any]:
    values = {prefix + name: getattr(task, name) for name in _TASK_FIELDS}
    values[prefix + "priority"] = task.priority.value
    values[prefix + "tags"] = list(task.tags)
    return values


class PostgresUserRepository:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def add(self, user: User) -> None:
        values = {name: getattr(user, name) for name in _USER_FIELDS}
        self._channel.write(_ADD_USER, values, _nothing)

    async def get(self, user_id: UUID) -> User | None:
        return await self._one("id", user_id)

    async def update(self, user: User) -> None:
        values = {name: getattr(user, name) for name in USER_ROWS.names}
        values["user_key"] = user.id
        self._channel.write(_UPDATE_USER, values, _nothing)

    async def delete(self, user_id: UUID) -> None:
        self._channel.write(_DELETE_USER, {"user_key": user_id}, _nothing)

    async def get_by_login(self, login: str) -> User | None:
        return await self._one("email" if "@" in login else "username", login)

    async def _one(self, key: str, value: object) -> User | None:
        rows = await self._channel.read(_USER_BY[key], {"value": value})
        return USER_ROWS.entity(rows[0]) if rows else None


class PostgresIdentityRepository:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def get(self, *, issuer: str, subject: str) -> ExternalIdentity | None:
        rows = await self._channel.read(
            _GET_IDENTITY, {"this_issuer": issuer, "this_subject": subject}
        )
        return _IDENTITY_ROWS.entity(rows[0]) if rows else None

    async def add(self, identity: ExternalIdentity) -> None:
        values = {name: getattr(identity, name) for name in _IDENTITY_ROWS.names}
        self._channel.write(_ADD_IDENTITY, values, _nothing)

    async def update(self, identity: ExternalIdentity) -> None:
        values = {name: getattr(identity, name) for name in _FOLLOWED}
        values.update(this_issuer=identity.issuer, this_subject=identity.subject)
        self._channel.write(_UPDATE_IDENTITY, values, _nothing)

    async def list_for_user(self, user_id: UUID) -> list[ExternalIdentity]:
        rows = await self._channel.read(_IDENTITIES_OF, {"user_key": user_id})
        return [_IDENTITY_ROWS.entity(row) for row in rows]


class PostgresTaskRepository:
    def __init__(self, channel: Channel) -> None:
        self._channel = channel

    async def add(self, task: Task) -> None:
        actor = self._channel.carry_actor()
        if actor is None:
            self._channel.write(_ADD_TASK, task_values(task), _nothing)
        else:
            self._channel.write(_ADD_TASK_AS_ACTOR, {**task_values(task), **actor}, _inserted)

    async def get(self, *, user_id: UUID, task_id: UUID) -> Task | None:
        row = await self._one_task(_GET_TASK, task_id=task_id, owner=user_id)
        return None if row is None else TASK_ROWS.entity(row)

    async def get_to_change(self, *, user_id: UUID, task_id: UUID) -> ToChange | None:
        row = await self._one_task(_GET_TASK_TO_CHANGE, task_id=task_id, owner=user_id)
        if row is None:
            return None
        *columns, followed_up = row
        return ToChange(TASK_ROWS.entity(columns), followed_up)

    async def _one_task(self, statements: tuple[Sql, Sql], **values: Any) -> tuple[Any, ...] | None:
        plain, as_actor = statements
        actor = self._channel.carry_actor()
        if actor is not None:
            return _found(await self._channel.read(as_actor, {**values, **actor}))
        rows = await self._channel.read(plain, values)
        return tuple(rows[0]) if rows else None

    async def update(
        self, task: Task, *, expected_version: int, follow_up: Task | None = None
    ) -> None:
        values = task_values(task)
        values.update(task_id=task.id, owner=task.user_id, loaded=expected_version)
        if follow_up is not None:
            values.update(task_values(follow_up, prefix="next_"))
        self._channel.write(_UPDATE_TASK[follow_up is not None], values, _applied)

    async def delete(
        self, *, user_id: UUID, task_id: UUID, expected_version: int | None = None
    ) -> None:
        values: dict[str, Any] = {"task_id": task_id, "owner": user_id, "loaded": expected_version}
        actor = self._channel.carry_actor()
        statement = _DELETE_TASK[(expected_version is not None, actor is not None)]
        self._channel.write(statement, {**values, **(actor or {})}, _deleted)

    async def list(self, *, user_id: UUID, query: TaskQuery, now: datetime) -> TaskPage:
        statement, values = _TASK_PAGES.page(user_id=user_id, query=query, now=now)
        rows = await self._channel.read(statement, values)
        return TaskPage.from_rows([TASK_ROWS.entity(row) for row in rows], query)


def _nothing(rows: Rows) -> None:
    return None


def _inserted(rows: Rows) -> None:
    if not rows:
        raise AuthenticationFailed(TOKEN_REFUSED)


def _applied(rows: Rows) -> None:
    changed, stored = rows[0]
    if changed is not None:
        return
    if stored is None:
        raise NotFound("task")
    raise VersionMismatch(current_version=stored)


def _deleted(rows: Rows) -> None:
    actor_may, deleted, stored = rows[0]
    if not actor_may:
        raise AuthenticationFailed(TOKEN_REFUSED)
    if deleted is not None:
        return
    if stored is None:
        raise NotFound("task")
    raise VersionMismatch(current_version=stored)
