"""Access tokens: the HS256 ones this API issues, and, when `JWKS_URL` is set, those of one
external issuer (Better Auth's `jwt` plugin, Neon Auth, any JWKS issuer).

Which check a token gets is decided by its `alg` alone, and each side pins its own: HS256 is
always ours (verified with `JWT_SECRET`, `iss` = `JWT_ISSUER`); EdDSA, ES256, RS256 and PS256
are the external issuer's, verified with the JWKS key named by `kid` if that key's type allows
the algorithm (see `todo_api.jwks`), never with a secret. `alg: none` and anything else fail.
External tokens must carry `iss` and `aud`, both checked (default: the origin of `JWKS_URL`,
which is what Better Auth puts in both), plus `sub`, `iat`, `exp` and an `email`.

An external token names `(issuer, subject)`; `IdentityService` maps that pair to a local
user, creating one just in time, so an external `sub` never acts as a local user id. After
`verify`, everything downstream sees only the local user id.

Why a token was refused is logged at INFO on `todo.auth` (never the token itself); the client
always gets the same 401.

Our own tokens, once verified, are remembered by their exact text (a bounded cache) until they
expire: a client sends the same token on every request, and decoding and checking it again
(base64, JSON, HMAC, claims) was a tenth of a request's CPU time. A token is remembered only
after every check passed; a remembered one is still refused once its `exp` has passed, and
what can revoke it (the user gone or deactivated, or their tokens revoked since it was issued:
`tokens_valid_after`) is checked per request downstream, in the operation's own statement, as
before.

Our own `iat` carries microseconds (RFC 7519 allows a non-integer NumericDate): the services
refuse a token issued before the user's last password change, and a change and a stolen
token can fall within one second. `sid` names the session the token was issued for.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import jwt

from todo_api.jwks import EXTERNAL_ALGORITHMS, JwksKeys, KeysUnavailable, UnknownKey
from todo_core import (
    AuthenticationFailed,
    Clock,
    ExternalClaims,
    IdentityService,
    ValidationError,
)

__all__ = [
    "Claims",
    "ExternalIssuer",
    "IssuedToken",
    "KeysUnavailable",
    "TokenService",
    "default_issuer",
]

log = logging.getLogger("todo.auth")

_LOCAL_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "sub"]
_EXTERNAL_LEEWAY = timedelta(seconds=30)  # clock skew between the issuer and us
_REFUSED = "the access token is invalid or expired"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_VERIFIED_CACHE_SIZE = 4096  # tokens, ~2 MB at most


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int  # seconds


@dataclass(frozen=True)
class Claims:
    """What a verified access token says: whose it is (always a local user id), when it was
    issued, which session (our own tokens), and the issuer's own id for the user when the
    token came from the external issuer."""

    subject: UUID
    issued_at: datetime
    session_id: UUID | None = None
    external_subject: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExternalIssuer:
    keys: JwksKeys
    issuer: str
    audience: str


def default_issuer(jwks_url: str) -> str:
    """The origin of the JWKS URL: Better Auth's `iss` and `aud` unless configured otherwise."""
    parts = urlsplit(jwks_url)
    return f"{parts.scheme}://{parts.netloc}"


class _Refused(Exception):  # noqa: N818
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TokenService:
    def __init__(
        self,
        *,
        secret: str,
        lifetime: timedelta,
        issuer: str,
        clock: Clock,
        external: ExternalIssuer | None = None,
        identities: IdentityService | None = None,
    ) -> None:
        if external is not None and identities is None:
            raise ValueError("an external issuer needs the identity service to map its users")
        self._secret = secret
        self._lifetime = lifetime
        self._issuer = issuer
        self._clock = clock
        self._external = external
        self._identities = identities
        # Our own verified tokens: exact text -> (claims, `exp` as a Unix time). Insertion order
        # is age order: the oldest goes first when the cache is full.
        self._verified: dict[str, tuple[Claims, float]] = {}

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

    async def verify(self, token: str) -> Claims:
        """What a valid token says. AuthenticationFailed (401) for any invalid token;
        KeysUnavailable (503) when its key cannot be looked up; IdentityConflict (409) when
        an external identity may not be linked (see `IdentityService`)."""
        known = self._verified.get(token)
        if known is not None:
            remembered, expires = known
            if time.time() < expires:  # PyJWT's test: expired once `exp` <= now
                return remembered
            self._verified.pop(token, None)
        try:
            alg = _header(token).get("alg")
            if alg == _LOCAL_ALGORITHM:
                return self._local(token)
            if self._external is not None and alg in EXTERNAL_ALGORITHMS:
                claims = await self._verify_external(token, self._external, str(alg))
                assert self._identities is not None
                user_id = await self._identities.resolve(claims)
                return Claims(user_id, claims.issued_at, external_subject=claims.subject)
            raise _Refused(f"algorithm {alg!r} is not accepted")
        except _Refused as refused:
            log.info("token refused: %s", refused.reason)
            raise AuthenticationFailed(_REFUSED) from None

    async def subject(self, token: str) -> UUID:
        """The local user id a valid token speaks for (see `verify`)."""
        return (await self.verify(token)).subject

    def _local(self, token: str) -> Claims:
        claims = _decode(
            token,
            self._secret,
            algorithms=[_LOCAL_ALGORITHM],
            issuer=self._issuer,
            options={"require": [*_REQUIRED_CLAIMS, "iss"]},
        )
        try:
            user_id = UUID(str(claims["sub"]))
            sid = claims.get("sid")
            session_id = UUID(sid) if isinstance(sid, str) else None
        except ValueError:
            raise _Refused("`sub` or `sid` is not an id") from None
        verified = Claims(user_id, _issued_at(claims), session_id=session_id)
        self._remember(token, verified, claims["exp"])
        return verified

    def _remember(self, token: str, claims: Claims, exp: object) -> None:
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            return  # only the numbers our own tokens carry; anything else is checked each time
        if len(self._verified) >= _VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = (claims, float(int(exp)))  # int(): PyJWT's own reading

    async def _verify_external(
        self, token: str, external: ExternalIssuer, alg: str
    ) -> ExternalClaims:
        kid = _header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise _Refused("external token without a `kid`")
        try:
            key = await external.keys.get(kid)
        except UnknownKey:
            raise _Refused("no key in the JWKS has this `kid`") from None
        except KeysUnavailable:
            log.info("token not checked: the JWKS is unreachable and its key is unknown")
            raise
        if alg not in key.algorithms:
            raise _Refused(f"algorithm {alg} does not fit the key {kid}")
        claims = _decode(
            token,
            key.public_key,
            algorithms=[alg],
            issuer=external.issuer,
            audience=external.audience,
            leeway=_EXTERNAL_LEEWAY,
            options={"require": [*_REQUIRED_CLAIMS, "iss", "aud"]},
        )
        try:
            return ExternalClaims.parse(
                issuer=external.issuer,
                subject=claims["sub"],
                email=claims.get("email"),
                name=claims.get("name"),
                # OpenID Connect spells it email_verified; Better Auth's user has emailVerified.
                email_verified=claims.get("email_verified", claims.get("emailVerified")),
                issued_at=_issued_at(claims),
            )
        except ValidationError as error:
            raise _Refused(f"unusable claims ({error})") from None


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _Refused("not a JWT") from None


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not valid yet (iat or nbf in the future)"),
    (jwt.InvalidIssuerError, "wrong issuer"),
    (jwt.InvalidAudienceError, "wrong audience"),
    (jwt.InvalidSignatureError, "bad signature"),
    (jwt.InvalidAlgorithmError, "algorithm not allowed"),
    (jwt.DecodeError, "malformed"),
)


def _decode(token: str, key: Any, **checks: Any) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, key, **checks)
    except jwt.MissingRequiredClaimError as error:
        raise _Refused(f"missing claim `{error.claim}`") from None
    except jwt.PyJWTError as error:
        reason = next((text for kind, text in _REASONS if isinstance(error, kind)), None)
        raise _Refused(reason or type(error).__name__) from None
    return claims


def _issued_at(claims: dict[str, Any]) -> datetime:
    iat = claims["iat"]
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise _Refused("`iat` is not a number")
    try:
        return _EPOCH + timedelta(seconds=float(iat))  # exact to the microsecond
    except (OverflowError, OSError, ValueError):
        raise _Refused("`iat` is out of range") from None
