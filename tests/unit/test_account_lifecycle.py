"""The account lifecycle in AccountService, on the in-memory fakes and a clock that only moves
when told: sessions and refresh rotation, revocation to the microsecond, one-time tokens,
profile changes, deletion, external accounts."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from tests.unit.conftest import NOW, PASSWORD
from todo_core import (
    AccountService,
    AuthenticationFailed,
    BcryptPasswordHasher,
    DuplicateAccount,
    ExternalAccount,
    NotFound,
    TaskService,
    User,
    ValidationError,
)
from todo_core.testing import FixedClock, InMemoryEmailSender, InMemoryStore

NEW = "a brand new passphrase"


@pytest.fixture
def outbox() -> InMemoryEmailSender:
    return InMemoryEmailSender()


@pytest.fixture
def accounts(
    store: InMemoryStore,
    hasher: BcryptPasswordHasher,
    clock: FixedClock,
    outbox: InMemoryEmailSender,
) -> AccountService:
    return AccountService(uow=store.unit_of_work, hasher=hasher, clock=clock, mailer=outbox)


def token_in(outbox: InMemoryEmailSender, to: str, subject: str) -> str:
    message = next(m for m in reversed(outbox.outbox) if m.to == to and subject in m.subject)
    found = re.search(r"token=([\w-]+)", message.text)
    assert found
    return found.group(1)


async def test_sign_up_sends_a_verification_link(
    accounts: AccountService, alice: User, outbox: InMemoryEmailSender
) -> None:
    token = token_in(outbox, "alice@example.com", "Confirm")
    assert (await accounts.verify_email(token=token)).email_verified
    assert (await accounts.get_user(user_id=alice.id)).email_verified
    with pytest.raises(ValidationError) as error:
        await accounts.verify_email(token=token)
    assert error.value.errors[0].field == "token"


async def test_refresh_rotates_and_reuse_ends_the_session(
    accounts: AccountService, alice: User
) -> None:
    first = await accounts.log_in(login="alice", password=PASSWORD, user_agent="test")
    second = await accounts.refresh(refresh_token=first.refresh_token)
    assert second.session_id == first.session_id
    assert second.refresh_token != first.refresh_token
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=first.refresh_token)
    with pytest.raises(AuthenticationFailed):  # the family is gone
        await accounts.refresh(refresh_token=second.refresh_token)
    assert await accounts.sessions(actor_id=alice.id) == []


async def test_a_failed_log_in_leaves_no_session(
    accounts: AccountService, alice: User, store: InMemoryStore
) -> None:
    """The session a login starts before checking the password goes when the check fails."""
    with pytest.raises(AuthenticationFailed):
        await accounts.log_in(login="alice", password="not the password")
    assert store.tables.sessions == {}
    assert store.tables.refresh_tokens == {}
    grant = await accounts.log_in(login="alice", password=PASSWORD, user_agent="test")
    assert [s.id for s in await accounts.sessions(actor_id=alice.id)] == [grant.session_id]
    assert (await accounts.sessions(actor_id=alice.id))[0].user_id == alice.id


async def test_sessions_expire_after_their_lifetime(
    accounts: AccountService, alice: User, clock: FixedClock
) -> None:
    grant = await accounts.log_in(login="alice", password=PASSWORD)
    clock.advance(timedelta(days=29))
    grant = await accounts.refresh(refresh_token=grant.refresh_token)  # slides the expiry
    clock.advance(timedelta(days=29))
    grant = await accounts.refresh(refresh_token=grant.refresh_token)
    clock.advance(timedelta(days=31))
    assert await accounts.sessions(actor_id=alice.id) == []
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=grant.refresh_token)


async def test_log_out_and_revoke(accounts: AccountService, alice: User, bob: User) -> None:
    one = await accounts.log_in(login="alice", password=PASSWORD)
    two = await accounts.log_in(login="alice", password=PASSWORD)
    await accounts.log_out(refresh_token=one.refresh_token)
    await accounts.log_out(refresh_token="unknown")  # nothing to end, no error
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=one.refresh_token)
    with pytest.raises(NotFound):
        await accounts.revoke_session(actor_id=bob.id, session_id=two.session_id)
    await accounts.revoke_session(actor_id=alice.id, session_id=two.session_id)
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=two.refresh_token)


async def test_a_password_change_refuses_tokens_issued_before_it_within_the_same_second(
    accounts: AccountService, tasks: TaskService, alice: User, clock: FixedClock
) -> None:
    issued = NOW + timedelta(microseconds=100)
    clock.advance(timedelta(microseconds=101))
    await accounts.change_password(actor_id=alice.id, current_password=PASSWORD, new_password=NEW)
    with pytest.raises(AuthenticationFailed):
        await accounts.get_active_user(user_id=alice.id, authenticated_at=issued)
    with pytest.raises(AuthenticationFailed):
        await tasks.create(actor_id=alice.id, owner_id=alice.id, title="x", authenticated_at=issued)
    later = clock.now() + timedelta(microseconds=1)
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="x", authenticated_at=later)
    await accounts.authenticate(login="alice", password=NEW)


async def test_a_wrong_current_password_changes_nothing(
    accounts: AccountService, alice: User
) -> None:
    grant = await accounts.log_in(login="alice", password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await accounts.change_password(actor_id=alice.id, current_password="nope", new_password=NEW)
    with pytest.raises(ValidationError) as error:
        await accounts.change_password(
            actor_id=alice.id, current_password=PASSWORD, new_password="x"
        )
    assert error.value.errors[0].field == "new_password"
    await accounts.refresh(refresh_token=grant.refresh_token)


async def test_reset_tokens_are_single_use_and_expire(
    accounts: AccountService, alice: User, clock: FixedClock, outbox: InMemoryEmailSender
) -> None:
    grant = await accounts.log_in(login="alice", password=PASSWORD)
    await accounts.request_password_reset(email="ALICE@example.com")
    token = token_in(outbox, "alice@example.com", "Reset")
    clock.advance(timedelta(minutes=59))
    await accounts.reset_password(token=token, new_password=NEW)
    with pytest.raises(AuthenticationFailed):
        await accounts.refresh(refresh_token=grant.refresh_token)
    with pytest.raises(ValidationError, match="token"):
        await accounts.reset_password(token=token, new_password=PASSWORD)

    await accounts.request_password_reset(email="alice@example.com")
    late = token_in(outbox, "alice@example.com", "Reset")
    clock.advance(timedelta(hours=1))
    with pytest.raises(ValidationError, match="token"):
        await accounts.reset_password(token=late, new_password=PASSWORD)
    await accounts.authenticate(login="alice", password=NEW)


async def test_reset_for_unknown_or_malformed_addresses_sends_nothing(
    accounts: AccountService, alice: User, outbox: InMemoryEmailSender
) -> None:
    sent = len(outbox.outbox)
    for address in ("nobody@example.com", "not an email", "\x00@x.y"):
        await accounts.request_password_reset(email=address)
    assert len(outbox.outbox) == sent


async def test_an_email_change_needs_verifying_again(
    accounts: AccountService, alice: User, bob: User, outbox: InMemoryEmailSender
) -> None:
    old = token_in(outbox, "alice@example.com", "Confirm")
    with pytest.raises(DuplicateAccount):
        await accounts.update_profile(actor_id=alice.id, email="bob@example.com")
    user = await accounts.update_profile(actor_id=alice.id, email="Ally@Example.com ", name="Al")
    assert (user.email, user.name, user.email_verified) == ("ally@example.com", "Al", False)
    with pytest.raises(ValidationError, match="token"):
        await accounts.verify_email(token=old)
    await accounts.verify_email(token=token_in(outbox, "ally@example.com", "Confirm"))
    assert (await accounts.get_user(user_id=alice.id)).email_verified


async def test_deletion_takes_tasks_sessions_and_tokens(
    accounts: AccountService, tasks: TaskService, alice: User, store: InMemoryStore
) -> None:
    await tasks.create(actor_id=alice.id, owner_id=alice.id, title="x")
    await accounts.log_in(login="alice", password=PASSWORD)
    with pytest.raises(AuthenticationFailed):
        await accounts.delete_account(actor_id=alice.id, password="wrong")
    await accounts.delete_account(actor_id=alice.id, password=PASSWORD)
    tables = store.tables
    assert not tables.users and not tables.tasks and not tables.sessions
    assert not tables.refresh_tokens and not tables.one_time
    await accounts.sign_up(email="alice@example.com", password=PASSWORD)


async def test_external_accounts_have_no_password_here(
    accounts: AccountService, store: InMemoryStore, outbox: InMemoryEmailSender
) -> None:
    external = replace(
        await accounts.sign_up(email="ext@example.com", password=PASSWORD), id=uuid4()
    )
    external.email, external.password_hash = "ext2@example.com", ""
    store.tables.users[external.id] = external
    with pytest.raises(ExternalAccount) as error:
        await accounts.change_password(
            actor_id=external.id, current_password=PASSWORD, new_password=NEW
        )
    assert "external identity provider" in str(error.value)
    sent = len(outbox.outbox)
    await accounts.request_password_reset(email="ext2@example.com")
    assert len(outbox.outbox) == sent
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(login="ext2@example.com", password="")
    await accounts.delete_account(actor_id=external.id, password=None)


async def test_a_failing_mailer_is_the_callers_to_contain(
    accounts: AccountService, outbox: InMemoryEmailSender
) -> None:
    """The service hands the message over after commit; the background sender (see
    test_mail.py) turns a failure into a log line. Here the account exists regardless."""
    outbox.failing = True
    with pytest.raises(ConnectionError):
        await accounts.sign_up(email="late@example.com", password=PASSWORD)
    assert await accounts.authenticate(login="late@example.com", password=PASSWORD)
