"""JWT access tokens: HS256 ones this API issues, and, when a JWKS URL is configured, EdDSA
ones from an external identity provider (Better Auth's JWT plugin publishes such a JWKS).

Algorithms are pinned per key source, so `alg: none` or an HS256 token "signed" with a public
key never verifies. `exp`, `iat` and `sub` are required; `sub` must be a user id.

Our own `iat` carries microseconds (RFC 7519 allows a non-integer NumericDate): the services
refuse a token issued before the user's last password change, and a change and a stolen
token can fall within one second. `sid` names the session the token was issued for.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from todo_core import AuthenticationFailed, Clock

_LOCAL_ALGORITHM = "HS256"
_EXTERNAL_ALGORITHMS = ["EdDSA"]
_REQUIRED_CLAIMS = ["exp", "iat", "sub"]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


@dataclass(frozen=True)
class Claims:
    """What a verified access token says: whose it is, when it was issued, which session."""

    subject: UUID
    issued_at: datetime
    session_id: UUID | None = None


@dataclass(frozen=True, kw_only=True)
class ExternalIssuer:
    jwks_url: str
    issuer: str | None = None
    audience: str | None = None


class TokenService:
    def __init__(
        self,
        *,
        secret: str,
        lifetime: timedelta,
        issuer: str,
        clock: Clock,
        external: ExternalIssuer | None = None,
    ) -> None:
        self._secret = secret
        self._lifetime = lifetime
        self._issuer = issuer
        self._clock = clock
        self._external = external
        self._jwks = jwt.PyJWKClient(external.jwks_url, cache_keys=True) if external else None

    def issue(self, *, user_id: UUID, session_id: UUID | None = None) -> IssuedToken:
        now: datetime = self._clock.now()
        claims: dict[str, object] = {
            "sub": str(user_id),
            "iat": (now - _EPOCH) / timedelta(seconds=1),  # microseconds kept, see above
            "exp": now + self._lifetime,
            "iss": self._issuer,
        }
        if session_id is not None:
            claims["sid"] = str(session_id)
        token = jwt.encode(claims, self._secret, algorithm=_LOCAL_ALGORITHM)
        return IssuedToken(token, int(self._lifetime.total_seconds()))

    async def subject(self, token: str) -> UUID:
        """The user id a valid token speaks for; AuthenticationFailed for anything else."""
        return (await self.verify(token)).subject

    async def verify(self, token: str) -> Claims:
        """The claims of a valid token; AuthenticationFailed for anything else."""
        try:
            header = jwt.get_unverified_header(token)
            if self._external is not None and header.get("alg") in _EXTERNAL_ALGORITHMS:
                claims = await self._verify_external(token, self._external)
            else:
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=[_LOCAL_ALGORITHM],
                    issuer=self._issuer,
                    options={"require": [*_REQUIRED_CLAIMS, "iss"]},
                )
            sid = claims.get("sid")
            return Claims(
                subject=UUID(str(claims["sub"])),
                issued_at=_EPOCH + timedelta(seconds=float(claims["iat"])),  # type: ignore[arg-type]
                session_id=UUID(sid) if isinstance(sid, str) else None,
            )
        except (jwt.PyJWTError, ValueError, KeyError, TypeError, OverflowError) as error:
            raise AuthenticationFailed("the access token is invalid or expired") from error

    async def _verify_external(self, token: str, external: ExternalIssuer) -> dict[str, object]:
        assert self._jwks is not None
        # PyJWKClient fetches over blocking urllib (and caches); keep it off the event loop.
        key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        return jwt.decode(
            token,
            key.key,
            algorithms=_EXTERNAL_ALGORITHMS,
            issuer=external.issuer,
            audience=external.audience,
            options={"require": _REQUIRED_CLAIMS, "verify_aud": external.audience is not None},
        )
