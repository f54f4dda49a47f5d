"""Sessions, refresh tokens and one-time tokens on PostgreSQL (hashes only, never secrets).

Statements go through the unit of work's `Channel` (see `unit_of_work`): writes without an
answer are queued for the commit (one round trip with the others); those whose answer is
needed at once (a refresh token spent, a one-time token taken, a session ended) are single
statements sent at once.

A login is one statement (`_START_LOGIN`): the throttle's read, the user, and the session
started speculatively, before bcrypt; its refresh token is handed out only if the password
verifies, so until then the row is inert (nobody holds its token). A failed login drops it in
the statement that records the failure (`_FAIL_LOGIN`). While bcrypt runs, the owner's list of
sessions shows the row; a failure that cannot reach the database to drop it (down right then)
leaves it inert until it expires or is revoked. An unknown, deactivated or external account
starts nothing (its first statement writes no row, the one difference on the database's side;
the same statements and round trips as a wrong password otherwise)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    Table,
    Uuid,
    and_,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from todo_core.domain.sessions import AuthSession, OneTimeToken, RefreshTokenUse, TokenPurpose
from todo_core.errors import AuthenticationFailed
from todo_core.ports import LoginFailureLog, LoginGate, LoginStart
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.link import Rows, Sql, sql, sql_of_built
from todo_core.postgres.repositories import USER_ROWS, Channel
from todo_core.postgres.tables import AccountTokenRow, RefreshTokenRow, SessionRow
from todo_core.postgres.throttle_statements import ADD, PURGE, RECENT

sessions: Table = SessionRow.__table__  # type: ignore[attr-defined]
refresh_tokens: Table = RefreshTokenRow.__table__  # type: ignore[attr-defined]
account_tokens: Table = AccountTokenRow.__table__  # type: ignore[attr-defined]

_SESSION = list(sessions.columns)
# Only a fresh token is marked; a spent one matches nothing here, which is how reuse shows.
# The row lock makes two concurrent uses of one token take turns: the second sees it spent.
_SPEND = (
    update(refresh_tokens)
    .where(refresh_tokens.c.token_hash == bindparam("hash"), refresh_tokens.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
    .returning(refresh_tokens.c.session_id)
)
_SESSION_OF_TOKEN = (
    select(*_SESSION)
    .join_from(refresh_tokens, sessions, refresh_tokens.c.session_id == sessions.c.id)
    .where(refresh_tokens.c.token_hash == bindparam("hash"))
)
# Spent and looked up in one statement: (was it fresh, the session's columns...). The lookup
# sees the row as it was before the UPDATE (one snapshot), which is all it needs.
_spent = _SPEND.cte("spent")
_USE_REFRESH = sql(
    select(select(_spent.c.session_id).exists(), *_SESSION_OF_TOKEN.selected_columns)
    .join_from(refresh_tokens, sessions, refresh_tokens.c.session_id == sessions.c.id)
    .where(refresh_tokens.c.token_hash == bindparam("hash"))
)
# A session started for a known user (one round trip on Neon): drop the user's expired
# sessions, add the new one and its first refresh token (a login does the same inside
# `_START_LOGIN`). PostgreSQL runs every data-modifying CTE, used or not.
_START_SESSION = text(
    """
    WITH expired AS (
        DELETE FROM sessions WHERE user_id = :user_id AND expires_at < :created_at
    ), session AS (
        INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent)
        VALUES (:id, :user_id, :created_at, :last_used_at, :expires_at, :user_agent)
        RETURNING id
    )
    INSERT INTO refresh_tokens (token_hash, session_id, created_at)
    SELECT :token_hash, id, :created_at FROM session
    """
).bindparams(
    bindparam("id", type_=Uuid()),
    bindparam("user_id", type_=Uuid()),
    bindparam("token_hash", type_=LargeBinary()),
)
_START_SESSION_SQL = sql(_START_SESSION)


def _start_login(column: str) -> Sql:
    """A login's one round trip (see `PostgresTokenStore.start_login`): the throttle's read
    (`throttle_statements.RECENT`), the user by `column`, and their new session with its first
    refresh token, started only for an active user with a password while no throttle key has
    reached its limit (`limits`: the same rule as the gate's `admit`). The last CTE's are
    the statement of `_START_SESSION`. Sent again after a lost connection, it starts the
    session once (`ON CONFLICT (id)`) and still answers that it did (the row is there)."""
    names = USER_ROWS.names
    statement = text(
        f"""
        WITH recent AS ({RECENT}), refused AS (
            SELECT FROM recent
            JOIN unnest(CAST(:keys AS text[]), CAST(:limits AS integer[])) AS l(key, most)
            USING (key)
            WHERE cardinality(recent.ages) >= l.most
        ), account AS (
            SELECT {", ".join(names)} FROM users WHERE {column} = :login
        ), starting AS (
            SELECT id FROM account
            WHERE is_active AND password_hash <> '' AND NOT EXISTS (SELECT FROM refused)
        ), expired AS (
            DELETE FROM sessions
            WHERE user_id IN (SELECT id FROM starting) AND expires_at < :created_at
        ), session AS (
            INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, user_agent)
            SELECT :id, id, :created_at, :last_used_at, :expires_at, :user_agent FROM starting
            ON CONFLICT (id) DO NOTHING
            RETURNING id
        ), token AS (
            INSERT INTO refresh_tokens (token_hash, session_id, created_at)
            SELECT :token_hash, id, :created_at FROM session
        )
        SELECT
            (SELECT coalesce(json_object_agg(key, ages), '{{}}') FROM recent),
            EXISTS (SELECT FROM session) OR EXISTS (SELECT FROM sessions WHERE id = :id),
            {", ".join(f"account.{name}" for name in names)}
        FROM (VALUES (1)) AS one LEFT JOIN account ON true
        """  # noqa: S608 - constant fragments and column names: no input in the text
    ).bindparams(
        bindparam("id", type_=Uuid()),
        bindparam("token_hash", type_=LargeBinary()),
        bindparam("keys", type_=ARRAY(String())),
        bindparam("limits", type_=ARRAY(Integer())),
    )
    return sql(statement)


_START_LOGIN = {column: _start_login(column) for column in ("email", "username")}
# A failed login: its speculative session dropped and the failure recorded, one statement.
_FAIL_LOGIN = sql(
    text(
        "WITH dropped AS (DELETE FROM sessions WHERE id = :session_id),"  # noqa: S608
        + PURGE
        + ADD
    ).bindparams(bindparam("session_id", type_=Uuid()), bindparam("keys", type_=ARRAY(String())))
)
_DROP_SESSION = sql(delete(sessions).where(sessions.c.id == bindparam("session_id")))
_TOUCH = sql(
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"))
    .values(last_used_at=bindparam("used"), expires_at=bindparam("until"))
)
# The next refresh token, only while its session still exists: a concurrent use of the spent
# token may have just ended the session (reuse detection), and then the rotation loses.
_ADD_REFRESH = sql(
    insert(refresh_tokens)
    .from_select(
        ["token_hash", "session_id", "created_at"],
        select(
            bindparam("token_hash", type_=refresh_tokens.c.token_hash.type),
            sessions.c.id,
            bindparam("created_at", type_=refresh_tokens.c.created_at.type),
        ).where(sessions.c.id == bindparam("session_id", type_=sessions.c.id.type)),
    )
    .returning(refresh_tokens.c.session_id)
)
_ADD_ONE_TIME = sql(
    insert(account_tokens).values(
        {c.name: bindparam(c.name, type_=c.type) for c in account_tokens.columns}
    )
)
_TAKE = sql(
    delete(account_tokens)
    .where(
        account_tokens.c.token_hash == bindparam("hash"),
        account_tokens.c.purpose == bindparam("purpose"),
    )
    .returning(*account_tokens.columns)
)


class PostgresTokenStore:
    def __init__(self, channel: Channel, database: PostgresDatabase | None = None) -> None:
        """`database`: the one the channel talks to, whose login-failure log it `holds`."""
        self._channel = channel
        self._database = database

    def holds(self, log: LoginFailureLog) -> bool:
        # A failure log kept in this very database (`throttle.PostgresLoginFailureLog`).
        return self._database is not None and getattr(log, "database", None) is self._database

    async def start_login(
        self,
        *,
        login: str | None,
        session: AuthSession,
        token_hash: bytes,
        gate: LoginGate | None = None,
    ) -> LoginStart:
        limits = dict(gate.limits) if gate is not None else {}
        values = {
            "keys": list(limits),
            "limits": list(limits.values()),
            "window": gate.window if gate is not None else 0.0,
            "login": login,
            "id": session.id,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at,
            "expires_at": session.expires_at,
            "user_agent": session.user_agent,
            "token_hash": token_hash,
        }
        statement = _START_LOGIN["email" if login is not None and "@" in login else "username"]
        rows = await self._channel.now(statement, values, repeatable=True)
        recent, started, *user = rows[0]
        return LoginStart(
            user=None if user[0] is None else USER_ROWS.entity(user),
            started=bool(started),
            recent={key: [float(age) for age in ages] for key, ages in recent.items()},
        )

    async def fail_login(self, *, session_id: UUID, gate: LoginGate | None = None) -> None:
        if gate is None:
            await self._channel.now(_DROP_SESSION, {"session_id": session_id})
            return
        values = {
            "session_id": session_id,
            "keys": list(gate.limits),
            "window": gate.window,
            "keep": gate.keep,
        }
        await self._channel.now(_FAIL_LOGIN, values)

    async def add_session(self, session: AuthSession, *, token_hash: bytes) -> None:
        values = {column.name: getattr(session, column.name) for column in _SESSION}
        self._channel.write(_START_SESSION_SQL, {**values, "token_hash": token_hash}, _nothing)

    async def use_refresh_token(
        self, token_hash: bytes, *, now: datetime
    ) -> RefreshTokenUse | None:
        rows = await self._channel.now(_USE_REFRESH, {"hash": token_hash, "now": now})
        if not rows:
            return None
        fresh, *session = rows[0]
        return RefreshTokenUse(AuthSession(*session), reused=not fresh)

    async def rotate(self, session: AuthSession, *, token_hash: bytes) -> None:
        touch = {
            "session_id": session.id,
            "used": session.last_used_at,
            "until": session.expires_at,
        }
        self._channel.write(_TOUCH, touch, _nothing)
        self._add_refresh(session, token_hash)

    async def sessions(self, user_id: UUID, *, now: datetime) -> list[AuthSession]:
        statement = (
            select(*_SESSION)
            .where(sessions.c.user_id == user_id, sessions.c.expires_at > now)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        rows = await self._channel.read(sql_of_built(statement), {})
        return [AuthSession(*row) for row in rows]

    async def delete_session(self, session_id: UUID, *, user_id: UUID | None = None) -> bool:
        statement = delete(sessions).where(sessions.c.id == session_id)
        if user_id is not None:
            statement = statement.where(sessions.c.user_id == user_id)
        rows = await self._channel.now(sql_of_built(statement.returning(sessions.c.id)), {})
        return bool(rows)

    async def delete_sessions(
        self, user_id: UUID, *, expired_before: datetime | None = None
    ) -> None:
        statement = delete(sessions).where(sessions.c.user_id == user_id)
        if expired_before is not None:
            statement = statement.where(sessions.c.expires_at < expired_before)
        self._channel.write(sql_of_built(statement), {}, _nothing)

    async def add_one_time(self, token: OneTimeToken) -> None:
        values = {column.name: getattr(token, column.name) for column in account_tokens.columns}
        values["purpose"] = token.purpose.value
        self._channel.write(_ADD_ONE_TIME, values, _nothing)

    async def take_one_time(self, token_hash: bytes, purpose: TokenPurpose) -> OneTimeToken | None:
        rows = await self._channel.now(_TAKE, {"hash": token_hash, "purpose": purpose.value})
        if not rows:
            return None
        values = dict(zip([c.name for c in account_tokens.columns], rows[0], strict=True))
        values["purpose"] = TokenPurpose(values["purpose"])
        values["token_hash"] = bytes(values["token_hash"])
        return OneTimeToken(**values)

    async def delete_one_time(
        self, user_id: UUID, purpose: TokenPurpose, *, expired_before: datetime | None = None
    ) -> None:
        condition = and_(
            account_tokens.c.user_id == user_id, account_tokens.c.purpose == purpose.value
        )
        if expired_before is not None:
            condition = and_(condition, account_tokens.c.expires_at < expired_before)
        self._channel.write(sql_of_built(delete(account_tokens).where(condition)), {}, _nothing)

    def _add_refresh(self, session: AuthSession, token_hash: bytes) -> None:
        values = {
            "token_hash": token_hash,
            "session_id": session.id,
            "created_at": session.last_used_at,
        }
        self._channel.write(_ADD_REFRESH, values, _session_still_there)


def _nothing(rows: Rows) -> None:
    return None


def _session_still_there(rows: Rows) -> None:
    if not rows:
        raise AuthenticationFailed("This session has ended; log in again.")
