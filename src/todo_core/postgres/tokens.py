"""Sessions, refresh tokens and one-time tokens on PostgreSQL (hashes only, never secrets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    LargeBinary,
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
from sqlalchemy.ext.asyncio import AsyncConnection

from todo_core.domain.sessions import AuthSession, OneTimeToken, RefreshTokenUse, TokenPurpose
from todo_core.postgres.tables import AccountTokenRow, RefreshTokenRow, SessionRow
from todo_core.postgres.translate import storage_errors

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
# A login is one statement (one round trip on Neon): drop the user's expired sessions, add the
# new one and its first refresh token. PostgreSQL runs every data-modifying CTE, used or not.
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
_TOUCH = (
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"))
    .values(last_used_at=bindparam("used"), expires_at=bindparam("until"))
)
_TAKE = (
    delete(account_tokens)
    .where(
        account_tokens.c.token_hash == bindparam("hash"),
        account_tokens.c.purpose == bindparam("purpose"),
    )
    .returning(*account_tokens.columns)
)


class PostgresTokenStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_session(self, session: AuthSession, *, token_hash: bytes) -> None:
        values = {column.name: getattr(session, column.name) for column in _SESSION}
        await self._run(_START_SESSION, {**values, "token_hash": token_hash})

    async def use_refresh_token(
        self, token_hash: bytes, *, now: datetime
    ) -> RefreshTokenUse | None:
        spent = await self._run(_SPEND, {"hash": token_hash, "now": now})
        fresh = spent.first() is not None
        row = (await self._run(_SESSION_OF_TOKEN, {"hash": token_hash})).first()
        return None if row is None else RefreshTokenUse(AuthSession(*row), reused=not fresh)

    async def rotate(self, session: AuthSession, *, token_hash: bytes) -> None:
        await self._run(
            _TOUCH,
            {"session_id": session.id, "used": session.last_used_at, "until": session.expires_at},
        )
        await self._add_refresh(session, token_hash)

    async def sessions(self, user_id: UUID, *, now: datetime) -> list[AuthSession]:
        statement = (
            select(*_SESSION)
            .where(sessions.c.user_id == user_id, sessions.c.expires_at > now)
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )
        return [AuthSession(*row) for row in (await self._run(statement)).all()]

    async def delete_session(self, session_id: UUID, *, user_id: UUID | None = None) -> bool:
        statement = delete(sessions).where(sessions.c.id == session_id)
        if user_id is not None:
            statement = statement.where(sessions.c.user_id == user_id)
        result = await self._run(statement.returning(sessions.c.id))
        return result.first() is not None

    async def delete_sessions(
        self, user_id: UUID, *, expired_before: datetime | None = None
    ) -> None:
        statement = delete(sessions).where(sessions.c.user_id == user_id)
        if expired_before is not None:
            statement = statement.where(sessions.c.expires_at < expired_before)
        await self._run(statement)

    async def add_one_time(self, token: OneTimeToken) -> None:
        values = {column.name: getattr(token, column.name) for column in account_tokens.columns}
        values["purpose"] = token.purpose.value
        await self._run(insert(account_tokens), values)

    async def take_one_time(self, token_hash: bytes, purpose: TokenPurpose) -> OneTimeToken | None:
        row = (await self._run(_TAKE, {"hash": token_hash, "purpose": purpose.value})).first()
        if row is None:
            return None
        values = row._asdict()
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
        await self._run(delete(account_tokens).where(condition))

    async def _add_refresh(self, session: AuthSession, token_hash: bytes) -> None:
        values = {
            "token_hash": token_hash,
            "session_id": session.id,
            "created_at": session.last_used_at,
        }
        await self._run(insert(refresh_tokens), values)

    async def _run(self, statement: Any, values: dict[str, Any] | None = None) -> Any:
        with storage_errors():
            return await self._connection.execute(statement, values)
