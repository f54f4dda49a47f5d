"""Sessions, refresh tokens and one-time tokens (password reset, email verification).

Every such token is an opaque random secret handed to its owner once; only its SHA-256 hash
is stored. The secrets carry 256 bits of randomness, so a fast hash is enough: nobody can
guess one, and a stolen table of hashes cannot be turned back into working tokens.

A session is one login on one device: a family of refresh tokens, each used once and
replaced by the next (rotation). Presenting a used token again means two parties hold the
family, so the whole session ends (reuse detection, RFC 9700 section 4.14.2).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid4

from todo_core.domain.validation import to_utc

USER_AGENT_MAX = 255
SECRET_MAX = 200  # longer input cannot be one of ours: refused before hashing


class TokenPurpose(StrEnum):
    PASSWORD_RESET = "password_reset"  # noqa: S105  # pragma: allowlist secret
    EMAIL_VERIFICATION = "email_verification"


def new_secret() -> tuple[str, bytes]:
    """A fresh secret for the client and the hash to store."""
    secret = secrets.token_urlsafe(32)
    return secret, hash_secret(secret)


def hash_secret(secret: str) -> bytes:
    # surrogatepass: any str a JSON body can carry hashes (to a value that matches nothing).
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


@dataclass
class AuthSession:
    id: UUID
    user_id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None

    def __post_init__(self) -> None:
        self.created_at = to_utc("created_at", self.created_at)
        self.last_used_at = to_utc("last_used_at", self.last_used_at)
        self.expires_at = to_utc("expires_at", self.expires_at)

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def use(self, now: datetime, lifetime: timedelta) -> None:
        """A refresh: the session lives `lifetime` past its last use."""
        self.last_used_at = now
        self.expires_at = now + lifetime


def new_session(
    *, user_id: UUID, user_agent: str | None, now: datetime, lifetime: timedelta
) -> AuthSession:
    agent = user_agent[:USER_AGENT_MAX] if user_agent else None
    if agent is not None:  # stored as text: no NUL, no lone surrogates
        agent = agent.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return AuthSession(
        id=uuid4(),
        user_id=user_id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
        user_agent=agent,
    )


@dataclass(frozen=True)
class RefreshTokenUse:
    """What presenting a refresh token found: its session, and whether it was used before."""

    session: AuthSession
    reused: bool


@dataclass(frozen=True)
class OneTimeToken:
    """A password-reset or email-verification token; `email` is the address it was sent to
    (a verification token is void once the account's email changed)."""

    token_hash: bytes
    user_id: UUID
    purpose: TokenPurpose
    email: str
    created_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= to_utc("expires_at", self.expires_at)


def new_one_time_token(
    *, user_id: UUID, purpose: TokenPurpose, email: str, now: datetime, lifetime: timedelta
) -> tuple[str, OneTimeToken]:
    secret, token_hash = new_secret()
    token = OneTimeToken(
        token_hash=token_hash,
        user_id=user_id,
        purpose=purpose,
        email=email,
        created_at=now,
        expires_at=now + lifetime,
    )
    return secret, token
