"""Tokens of the external issuer, with generated keys of every accepted type: what verifies,
what is refused (always AuthenticationFailed, reason logged), and how the JWKS is cached."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.support.issuer import ACCEPTED_ALGORITHMS, Issuer, Key, new_subject
from todo_api.jwks import JwksKeys, KeysUnavailable, parse_jwks
from todo_api.tokens import ExternalIssuer, TokenService
from todo_core import AuthenticationFailed, IdentityService
from todo_core.testing import FixedClock, InMemoryStore

SECRET = "unit-test-secret-that-is-long-enough-0123456789"


class Timer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_service(
    issuer: Issuer, *, timer: Timer | None = None, min_refetch: float = 5.0
) -> tuple[TokenService, InMemoryStore]:
    store = InMemoryStore()
    clock = FixedClock(datetime.now(UTC))
    keys = JwksKeys(issuer.fetch, max_age=300, min_refetch=min_refetch, timer=timer or Timer())
    service = TokenService(
        secret=SECRET,
        lifetime=timedelta(minutes=5),
        issuer="todo",
        clock=clock,
        external=ExternalIssuer(keys=keys, issuer=issuer.url, audience=issuer.url),
        identities=IdentityService(uow=store.unit_of_work, clock=clock),
    )
    return service, store


@pytest.mark.parametrize("alg", ACCEPTED_ALGORITHMS)
async def test_every_accepted_algorithm_verifies(alg: str) -> None:
    issuer = Issuer(keys=[Key(alg)])
    service, store = make_service(issuer)
    subject = new_subject()
    caller = await service.verify(issuer.token(subject))
    assert caller.external_subject == subject
    assert caller.subject in store.tables.users


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    return f"{header}.{_b64(claims)}.{signature}"


def _alg_none(issuer: Issuer) -> str:
    claims = issuer.claims(new_subject(), iat=1, exp=9_999_999_999)
    header = {"alg": "none", "typ": "JWT", "kid": issuer.keys[0].kid}
    return f"{_b64(header)}.{_b64(claims)}."


def _hs256_with_the_public_key(issuer: Issuer) -> str:
    # The classic confusion attack: the public key's bytes used as an HMAC secret.
    public = issuer.keys[0].private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = issuer.claims(new_subject())
    header = {"alg": "HS256", "kid": issuer.keys[0].kid}
    signing_input = f"{_b64(header)}.{_b64(json.loads(json.dumps(claims, default=_seconds)))}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _seconds(value: object) -> int:
    assert isinstance(value, datetime)
    return int(value.timestamp())


def _other_key_same_kid(issuer: Issuer) -> str:
    impostor = Key(issuer.keys[0].alg, kid=issuer.keys[0].kid)
    return issuer.token(key=impostor)


def _wrong_alg_for_key(issuer: Issuer) -> str:
    # An RSA key that says RS256, used for PS256: the key's `alg` pins it.
    rsa = issuer.keys[1]
    claims = issuer.claims(new_subject())
    return jwt.encode(claims, rsa.private, algorithm="PS256", headers={"kid": rsa.kid})


REFUSED = {
    "expired": lambda i: i.token(exp=datetime.now(UTC) - timedelta(minutes=2)),
    "issued-in-the-future": lambda i: i.token(iat=datetime.now(UTC) + timedelta(hours=1)),
    "tampered": lambda i: _tampered(i.token()),
    "other-key": _other_key_same_kid,
    "wrong-issuer": lambda i: i.token(iss="https://evil.example"),
    "wrong-audience": lambda i: i.token(aud="https://other-app.example"),
    "no-audience": lambda i: i.token(aud=None),
    "no-issuer": lambda i: i.token(iss=None),
    "no-exp": lambda i: i.token(exp=None),
    "no-sub": lambda i: i.token(sub=None),
    "no-email": lambda i: i.token(email=None),
    "bad-email": lambda i: i.token(email="not-an-address"),
    "alg-none": _alg_none,
    "hs256-with-public-key": _hs256_with_the_public_key,
    "alg-not-the-keys": _wrong_alg_for_key,
    "unknown-kid": lambda i: i.token(key=Key("EdDSA")),
    "no-kid": lambda i: jwt.encode(i.claims(new_subject()), i.keys[0].private, algorithm="EdDSA"),
    "junk": lambda i: "not.a.token",
}


@pytest.mark.parametrize("make", REFUSED.values(), ids=REFUSED.keys())
async def test_refused_tokens_fail_authentication_and_say_why_in_the_log(
    make: object, caplog: pytest.LogCaptureFixture
) -> None:
    rsa = Key("RS256")
    issuer = Issuer(keys=[Key("EdDSA"), rsa])
    service, store = make_service(issuer)
    token = make(issuer)  # type: ignore[operator]
    with caplog.at_level(logging.INFO, logger="todo.auth"), pytest.raises(AuthenticationFailed):
        await service.verify(token)
    refusals = [r for r in caplog.records if r.getMessage().startswith("token refused: ")]
    assert len(refusals) == 1
    assert all(r.levelno == logging.INFO for r in refusals)
    assert token not in caplog.text
    assert not store.tables.users


def test_symmetric_and_unsupported_keys_are_never_used() -> None:
    document = {
        "keys": [
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "alg": "HS256"},
            {**Key("EdDSA", kid="ok").jwk},
            {**Key("ES256", kid="enc").jwk, "use": "enc"},
            {**Key("EdDSA", kid="mislabelled").jwk, "alg": "HS256"},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"},
        ]
    }
    assert set(parse_jwks(document)) == {"ok"}


async def test_a_local_id_in_an_external_sub_does_not_act_as_that_user() -> None:
    issuer = Issuer()
    service, _ = make_service(issuer)
    local = await service.verify(service.issue(user_id=uuid4()).access_token)
    external = await service.verify(issuer.token(str(local.subject)))
    assert external.subject != local.subject
    assert external.external_subject == str(local.subject)


async def test_a_rotated_key_is_fetched_once_then_cached() -> None:
    issuer = Issuer()
    timer = Timer()
    service, _ = make_service(issuer, timer=timer)
    await service.verify(issuer.token())
    assert issuer.fetches == 1
    issuer.keys.insert(0, Key("ES256"))  # rotation: a new key signs from now on
    timer.now += 6
    await service.verify(issuer.token())
    await service.verify(issuer.token())
    assert issuer.fetches == 2


async def test_unknown_kids_refetch_at_most_once_per_interval() -> None:
    issuer = Issuer()
    timer = Timer()
    service, _ = make_service(issuer, timer=timer, min_refetch=5)
    await service.verify(issuer.token())
    for _ in range(20):
        with pytest.raises(AuthenticationFailed):
            await service.verify(issuer.token(key=Key("EdDSA")))
    assert issuer.fetches == 1  # within the interval: no refetch at all
    timer.now += 5
    with pytest.raises(AuthenticationFailed):
        await service.verify(issuer.token(key=Key("EdDSA")))
    assert issuer.fetches == 2


async def test_unreachable_jwks_is_unavailable_for_unknown_keys_only() -> None:
    issuer = Issuer()
    timer = Timer()
    service, _ = make_service(issuer, timer=timer)
    issuer.reachable = False
    with pytest.raises(KeysUnavailable):
        await service.verify(issuer.token())
    issuer.reachable = True
    timer.now += 5
    known = issuer.token()
    await service.verify(known)
    issuer.reachable = False
    timer.now += 600  # the cached set is stale, and cannot be refreshed: known keys still work
    await service.verify(issuer.token())
    with pytest.raises(KeysUnavailable):
        await service.verify(issuer.token(key=Key("EdDSA")))


async def test_local_tokens_still_work_beside_an_external_issuer() -> None:
    service, _ = make_service(Issuer())
    user_id = uuid4()
    caller = await service.verify(service.issue(user_id=user_id).access_token)
    assert caller.subject == user_id
    assert caller.external_subject is None
