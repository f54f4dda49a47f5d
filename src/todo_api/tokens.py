"""JWT access tokens: HS256 ones this API issues, and, when a JWKS URL is configured, EdDSA
ones from an external identity provider (Better Auth's JWT plugin publishes such a JWKS).

Algorithms are pinned per key source, so `alg: none` or an HS256 token "signed" with a public
key never verifies. `exp`, `iat` and `sub` are required; `sub` must be a user id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import jwt

from todo_core import AuthenticationFailed, Clock

_LOCAL_ALGORITHM = "HS256"
_EXTERNAL_ALGORITHMS = ["EdDSA"]
_REQUIRED_CLAIMS = ["exp", "iat", "sub"]


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


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

    def issue(self, *, user_id: UUID) -> IssuedToken:
        now: datetime = self._clock.now()
        claims = {"sub": str(user_id), "iat": now, "exp": now + self._lifetime, "iss": self._issuer}
        token = jwt.encode(claims, self._secret, algorithm=_LOCAL_ALGORITHM)
        return IssuedToken(token, int(self._lifetime.total_seconds()))

    async def subject(self, token: str) -> UUID:
        """The user id a valid token speaks for; AuthenticationFailed for anything else."""
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
            return UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError, KeyError) as error:
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
