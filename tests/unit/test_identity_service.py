"""Linking external identities to local users, on the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from todo_core import (
    AccountService,
    AuthenticationFailed,
    ExternalClaims,
    IdentityConflict,
    IdentityService,
    ValidationError,
)
from todo_core.testing import FixedClock, InMemoryStore

ISSUER = "https://auth.example.test"
T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def claims(
    subject: str = "sub-1",
    *,
    email: str = "ada@example.com",
    name: str | None = "Ada",
    verified: bool = True,
    at: datetime = T0,
    issuer: str = ISSUER,
) -> ExternalClaims:
    return ExternalClaims.parse(
        issuer=issuer,
        subject=subject,
        email=email,
        name=name,
        email_verified=verified,
        issued_at=at,
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def identities(store: InMemoryStore, clock: FixedClock) -> IdentityService:
    return IdentityService(uow=store.unit_of_work, clock=clock)


async def test_first_token_creates_a_user_without_a_password(
    identities: IdentityService, store: InMemoryStore
) -> None:
    user_id = await identities.resolve(claims(email=" Ada@Example.com ", name="  Ada  "))
    user = store.tables.users[user_id]
    assert (user.email, user.name, user.email_verified) == ("ada@example.com", "Ada", True)
    assert user.password_hash is None and not user.has_password
    assert await identities.resolve(claims()) == user_id
    assert len(store.tables.users) == 1


async def test_later_tokens_of_a_known_subject_are_answered_from_the_cache(
    identities: IdentityService, store: InMemoryStore
) -> None:
    await identities.resolve(claims())
    commits = store.commits
    store.unavailable = True  # any unit of work would fail now
    await identities.resolve(claims(at=T0 + timedelta(minutes=1)))
    assert store.commits == commits


async def test_the_same_subject_of_another_issuer_is_another_user(
    identities: IdentityService,
) -> None:
    one = await identities.resolve(claims(email="a@example.com"))
    other = await identities.resolve(claims(email="b@example.com", issuer="https://other.test"))
    assert one != other


async def test_an_external_sub_equal_to_a_local_id_is_not_that_user(
    identities: IdentityService, accounts: AccountService
) -> None:
    local = await accounts.sign_up(email="local@example.com", password="long enough pw")
    mapped = await identities.resolve(claims(str(local.id), email="ext@example.com"))
    assert mapped != local.id


@pytest.mark.parametrize(
    ("token_verified", "account_verified"),
    [(False, False), (False, True), (True, False)],
)
async def test_an_email_of_an_account_is_not_taken_over_unless_verified_on_both_sides(
    identities: IdentityService,
    accounts: AccountService,
    store: InMemoryStore,
    token_verified: bool,
    account_verified: bool,
) -> None:
    local = await accounts.sign_up(email="ada@example.com", password="long enough pw")
    store.tables.users[local.id].email_verified = account_verified
    with pytest.raises(IdentityConflict):
        await identities.resolve(claims(verified=token_verified))
    assert not store.tables.identities
    assert len(store.tables.users) == 1


async def test_a_verified_email_on_both_sides_links_the_existing_account(
    identities: IdentityService, accounts: AccountService, store: InMemoryStore
) -> None:
    local = await accounts.sign_up(email="ada@example.com", password="long enough pw")
    store.tables.users[local.id].email_verified = True
    assert await identities.resolve(claims(verified=True)) == local.id
    methods = await identities.sign_in_methods(user_id=local.id)
    assert methods.password is True
    assert methods.issuers == (ISSUER,)


async def test_profile_follows_newer_claims_only(
    identities: IdentityService, store: InMemoryStore, clock: FixedClock
) -> None:
    user_id = await identities.resolve(claims())
    clock.advance(timedelta(minutes=1))
    await identities.resolve(
        claims(name="Ada King", email="ada@king.example", at=T0 + timedelta(1))
    )
    user = store.tables.users[user_id]
    assert (user.name, user.email, user.updated_at) == ("Ada King", "ada@king.example", clock.now())
    await identities.resolve(claims(name="Stale", at=T0 + timedelta(seconds=30)))
    assert store.tables.users[user_id].name == "Ada King"


async def test_a_new_email_that_is_someone_elses_is_not_taken(
    identities: IdentityService, accounts: AccountService, store: InMemoryStore
) -> None:
    await accounts.sign_up(email="taken@example.com", password="long enough pw")
    user_id = await identities.resolve(claims())
    later = T0 + timedelta(minutes=1)
    await identities.resolve(claims(email="taken@example.com", name="Ada K", at=later))
    user = store.tables.users[user_id]
    assert (user.email, user.name) == ("ada@example.com", "Ada K")


async def test_an_external_user_cannot_log_in_with_a_password(
    identities: IdentityService, accounts: AccountService
) -> None:
    await identities.resolve(claims())
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(login="ada@example.com", password="anything at all")
    methods = await identities.sign_in_methods(user_id=await identities.resolve(claims()))
    assert methods.password is False and methods.issuers == (ISSUER,)


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", None), ("email", "nope"), ("sub", ""), ("sub", "x" * 256)],
)
def test_unusable_claims_are_refused(field: str, value: object) -> None:
    values: dict[str, object] = {"subject": "s", "email": "a@example.com"}
    values["subject" if field == "sub" else field] = value
    with pytest.raises(ValidationError):
        ExternalClaims.parse(
            issuer=ISSUER,
            subject=values["subject"],  # type: ignore[arg-type]
            email=values["email"],
            name=None,
            email_verified=True,
            issued_at=T0,
        )


def test_only_a_json_true_verifies_an_email() -> None:
    for value in ("true", 1, None):
        parsed = ExternalClaims.parse(
            issuer=ISSUER, subject="s", email="a@example.com", name=None,
            email_verified=value, issued_at=T0,
        )  # fmt: skip
        assert parsed.profile.email_verified is False
