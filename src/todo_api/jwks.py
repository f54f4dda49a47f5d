"""The external issuer's signing keys (its JWKS), fetched off the event loop and cached.

- A key is usable only by type, and only for the algorithms that type allows: OKP/Ed25519 ->
  EdDSA, EC/P-256 -> ES256, RSA (2048 bits or more) -> RS256 and PS256. Symmetric (`oct`) keys
  and every other type are ignored, so an external token can never be checked with a secret.
  A key that names its own `alg` is usable for that algorithm only.
- The set is cached for `max_age` seconds. A token with an unknown `kid` (key rotation)
  refetches it, at most once per `min_refetch` seconds, whatever the traffic.
- When the JWKS cannot be fetched, known keys keep working (stale if error); a token whose
  key is unknown then gets `KeysUnavailable` (HTTP 503: we cannot tell whether it is valid),
  not a 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

log = logging.getLogger("todo.auth")

JwksFetcher = Callable[[], Awaitable[Any]]

# Key type (and curve) -> the algorithms a token signed with such a key may use.
ALGORITHMS_BY_KEY_TYPE: Mapping[tuple[str, str | None], frozenset[str]] = {
    ("OKP", "Ed25519"): frozenset({"EdDSA"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("RSA", None): frozenset({"RS256", "PS256"}),
}
EXTERNAL_ALGORITHMS = frozenset().union(*ALGORITHMS_BY_KEY_TYPE.values())
MIN_RSA_BITS = 2048


class KeysUnavailable(Exception):  # noqa: N818 (reads as the HTTP outcome)
    """The JWKS could not be fetched and the token's key is not among those already known."""


class UnknownKey(LookupError):  # noqa: N818 (reads as what happened)
    """The JWKS was fetched (or recently enough) and holds no usable key with this `kid`."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithms: frozenset[str]
    public_key: Any  # a `cryptography` public key object


def http_fetcher(url: str, *, timeout: float) -> JwksFetcher:
    """Fetch with PyJWT's client (http(s) only, no redirects) in a worker thread: its urllib
    call blocks, and the event loop must keep serving other requests meanwhile."""
    client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=timeout)

    async def fetch() -> Any:
        return await asyncio.to_thread(client.fetch_data)

    return fetch


class JwksKeys:
    def __init__(
        self,
        fetch: JwksFetcher,
        *,
        max_age: float = 300.0,
        min_refetch: float = 5.0,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._min_refetch = min_refetch
        self._timer = timer
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at: float | None = None  # last success
        self._tried_at: float | None = None  # last attempt
        self._last_failed = False
        self._lock = asyncio.Lock()
        self.fetches = 0  # attempts, for tests and the curious

    async def get(self, kid: str) -> SigningKey:
        key = self._keys.get(kid)
        if key is not None and self._fresh():
            return key
        async with self._lock:  # one fetch at a time; waiters see its result
            if (self._keys.get(kid) is None or not self._fresh()) and self._may_fetch():
                await self._refresh()
            key = self._keys.get(kid)
        if key is not None:
            return key
        if self._last_failed:
            raise KeysUnavailable()
        raise UnknownKey(kid)

    def _fresh(self) -> bool:
        return self._fetched_at is not None and self._timer() - self._fetched_at < self._max_age

    def _may_fetch(self) -> bool:
        return self._tried_at is None or self._timer() - self._tried_at >= self._min_refetch

    async def _refresh(self) -> None:
        self._tried_at = self._timer()
        self.fetches += 1
        try:
            document = await self._fetch()
            keys = parse_jwks(document)
        except Exception as error:  # any failure means "unavailable"; logged
            self._last_failed = True
            known = len(self._keys)
            log.warning("JWKS fetch failed (%s); %d known keys kept", type(error).__name__, known)
            return
        self._keys, self._fetched_at, self._last_failed = keys, self._tried_at, False
        log.info("JWKS fetched: %d usable signing keys", len(keys))


def parse_jwks(document: Any) -> dict[str, SigningKey]:
    """The usable signing keys of a JWKS document, by `kid`; ValueError if it is not a JWKS."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys = {}
    for entry in document["keys"]:
        key = _signing_key(entry) if isinstance(entry, dict) else None
        if key is not None:
            keys[key.kid] = key
    return keys


def _signing_key(jwk: dict[str, Any]) -> SigningKey | None:
    kid, kty, crv = jwk.get("kid"), str(jwk.get("kty")), jwk.get("crv")
    if not isinstance(kid, str) or not kid or jwk.get("use") not in (None, "sig"):
        return None
    allowed = ALGORITHMS_BY_KEY_TYPE.get((kty, None if kty == "RSA" else str(crv)))
    if allowed is None:
        return None  # `oct` (symmetric) and unsupported types or curves
    declared = jwk.get("alg")
    if declared is not None:
        allowed = allowed & {declared}
    if not allowed:
        return None
    try:
        public_key = jwt.PyJWK(jwk, algorithm=min(allowed)).key
    except jwt.PyJWTError:
        return None
    if isinstance(public_key, RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        return None
    if not hasattr(public_key, "public_bytes") or hasattr(public_key, "private_bytes"):
        return None  # a published private key is not a key we trust
    return SigningKey(kid, frozenset(allowed), public_key)
