"""A stand-in external issuer for tests: generated key pairs, its JWKS document, and tokens
shaped like Better Auth's (`sub` = `id`, `email`, `name`, `emailVerified`, `iss` = `aud`)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

ISSUER = "https://auth.example.test"
JWKS_URL = f"{ISSUER}/api/auth/jwks"
ACCEPTED_ALGORITHMS = ("EdDSA", "ES256", "RS256", "PS256")


def private_key(alg: str) -> Any:
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(alg)


def public_jwk(key: Any, alg: str, kid: str) -> dict[str, Any]:
    jwk = json.loads(get_default_algorithms()[alg].to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class Key:
    alg: str
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    private: Any = None

    def __post_init__(self) -> None:
        if self.private is None:
            self.private = private_key(self.alg)

    @property
    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private, self.alg, self.kid)


@dataclass
class Issuer:
    url: str = ISSUER
    keys: list[Key] = field(default_factory=lambda: [Key("EdDSA")])
    reachable: bool = True
    fetches: int = 0

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self.keys]}

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if not self.reachable:
            raise OSError("connection refused")
        return self.jwks()

    def claims(self, subject: str, **overrides: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        base = {
            "sub": subject,
            "id": subject,
            "email": f"{subject.lower()}@example.com",
            "name": "Ada Lovelace",
            "emailVerified": True,
            "iat": now,
            "exp": now + timedelta(minutes=15),
            "iss": self.url,
            "aud": self.url,
        }
        return {**base, **overrides}

    def token(self, subject: str = "", *, key: Key | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        subject = subject or new_subject()
        claims = {k: v for k, v in self.claims(subject, **overrides).items() if v is not None}
        return jwt.encode(claims, key.private, algorithm=key.alg, headers={"kid": key.kid})


def new_subject() -> str:
    """An id as Better Auth makes them: 32 random alphanumerics, not a UUID."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))
