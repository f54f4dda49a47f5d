from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from tests.unit.conftest import NOW, PASSWORD
from todo_core import (
    AccountService,
    AuthenticationFailed,
    BcryptPasswordHasher,
    DuplicateAccount,
    NotFound,
    User,
    ValidationError,
)
from todo_core.testing import FixedClock, InMemoryStore


async def test_sign_up_normalises_and_hashes(accounts: AccountService) -> None:
    user = await accounts.sign_up(
        email="  Carol@Example.COM ", password=PASSWORD, username=" carol ", name=" Carol "
    )
    assert (user.email, user.username, user.name) == ("carol@example.com", "carol", "Carol")
    assert (user.is_active, user.email_verified) == (True, False)
    assert (user.created_at, user.updated_at) == (NOW, NOW)
    assert user.password_hash.startswith("$2b$")
    assert PASSWORD not in user.password_hash


async def test_sign_up_stores_the_user(accounts: AccountService, store: InMemoryStore) -> None:
    user = await accounts.sign_up(email="carol@example.com", password=PASSWORD)
    assert store.tables.users == {user.id: user}
    assert user.username is None


async def test_sign_up_reports_every_bad_field(accounts: AccountService) -> None:
    with pytest.raises(ValidationError) as caught:
        await accounts.sign_up(email="nope", password="short", username="a@b", name="x" * 256)
    assert [e.field for e in caught.value.errors] == ["email", "username", "name", "password"]


async def test_duplicate_email_in_any_case(accounts: AccountService, alice: User) -> None:
    with pytest.raises(DuplicateAccount) as caught:
        await accounts.sign_up(email="ALICE@example.com ", password=PASSWORD)
    assert caught.value.field == "email"


async def test_duplicate_username(accounts: AccountService, alice: User) -> None:
    with pytest.raises(DuplicateAccount) as caught:
        await accounts.sign_up(email="other@example.com", password=PASSWORD, username="alice")
    assert caught.value.field == "username"


async def test_users_without_username_do_not_clash(accounts: AccountService) -> None:
    await accounts.sign_up(email="one@example.com", password=PASSWORD)
    await accounts.sign_up(email="two@example.com", password=PASSWORD)


@pytest.mark.parametrize("login", ["alice@example.com", " ALICE@Example.com ", "alice", " alice "])
async def test_authenticate_by_email_or_username(
    accounts: AccountService, alice: User, login: str
) -> None:
    assert await accounts.authenticate(login=login, password=PASSWORD) == alice


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("alice@example.com", "wrong password"),
        ("alice", PASSWORD.upper()),
        ("nobody@example.com", PASSWORD),
        ("nobody", PASSWORD),
        ("not an email@", PASSWORD),
        ("", ""),
        ("alice", "x" * 100),  # longer than bcrypt can check
        ("ali\x00ce", PASSWORD),  # never reaches the database
        ("x" * 100_000, PASSWORD),
        ("alice", "pass\x00word"),
    ],
)
async def test_authenticate_fails_the_same_way(
    accounts: AccountService, alice: User, login: str, password: str
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await accounts.authenticate(login=login, password=password)
    assert str(caught.value) == "Incorrect login or password."


class CountingHasher:
    """Wraps a hasher to prove that unknown users cost a bcrypt check too."""

    def __init__(self, inner: BcryptPasswordHasher) -> None:
        self.inner = inner
        self.verified: list[str] = []

    async def hash(self, password: str) -> str:
        return await self.inner.hash(password)

    async def verify(self, password: str, password_hash: str) -> bool:
        self.verified.append(password_hash)
        return await self.inner.verify(password, password_hash)


async def test_unknown_and_inactive_users_still_cost_a_hash_check(
    store: InMemoryStore, hasher: BcryptPasswordHasher, clock: FixedClock, alice: User
) -> None:
    counting = CountingHasher(hasher)
    service = AccountService(uow=store.unit_of_work, hasher=counting, clock=clock)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(login="nobody", password=PASSWORD)
    store.tables.users[alice.id] = replace(alice, is_active=False)
    with pytest.raises(AuthenticationFailed):
        await service.authenticate(login="alice", password=PASSWORD)
    assert len(counting.verified) == 2
    assert all(h.startswith("$2b$04$") for h in counting.verified)  # same cost as real hashes


async def test_get_user(accounts: AccountService, alice: User) -> None:
    assert await accounts.get_user(user_id=alice.id) == alice
    with pytest.raises(NotFound) as caught:
        await accounts.get_user(user_id=uuid.uuid4())
    assert caught.value.resource == "user"


async def test_get_active_user(accounts: AccountService, alice: User, store: InMemoryStore) -> None:
    assert await accounts.get_active_user(user_id=alice.id) == alice
    with pytest.raises(AuthenticationFailed):
        await accounts.get_active_user(user_id=uuid.uuid4())
    store.tables.users[alice.id] = replace(alice, is_active=False)
    with pytest.raises(AuthenticationFailed):
        await accounts.get_active_user(user_id=alice.id)
    assert (await accounts.get_user(user_id=alice.id)).is_active is False


async def test_impossible_logins_never_reach_storage(
    accounts: AccountService, store: InMemoryStore
) -> None:
    store.unavailable = True
    for login in ("ali\x00ce", "a" * 51, "not an email@", "  "):
        with pytest.raises(AuthenticationFailed):
            await accounts.authenticate(login=login, password=PASSWORD)
