"""Accounts: sign up, log in and sessions, profile, password change and reset, email
verification, and deletion.

Revocation without a lookup per request: a password change, reset or deletion moves the
user's `tokens_valid_after` to now and ends every session; access tokens carry their issue
time, which the services compare with it in the unit of work they open anyway
(`authenticated_at`). Refresh tokens rotate on every use; a used one presented again ends
its whole session (see `todo_core.domain.sessions`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from uuid import UUID

from todo_core.domain.sessions import (
    SECRET_MAX,
    AuthSession,
    TokenPurpose,
    hash_secret,
    new_one_time_token,
    new_secret,
    new_session,
)
from todo_core.domain.tasks import UNSET, Unset, _Unset
from todo_core.domain.users import (
    User,
    check_new_password,
    check_sign_up,
    new_user,
    normalize_email,
    normalize_name,
    normalize_username,
)
from todo_core.domain.validation import Checks
from todo_core.errors import (
    AuthenticationFailed,
    ExternalAccount,
    NotFound,
    ValidationError,
)
from todo_core.ports import (
    Clock,
    EmailMessage,
    EmailSender,
    LoginGate,
    PasswordHasher,
    UnitOfWork,
)
from todo_core.ports import UnitOfWorkFactory as UowFactory
from todo_core.services.emails import AccountEmails

A = TypeVar("A")
T = TypeVar("T")
_BAD_TOKEN = "is invalid, expired or already used"  # noqa: S105 - a message
_WRONG_PASSWORD = "The password is incorrect."  # noqa: S105  # pragma: allowlist secret
_NOBODY = UUID(int=0)  # a login's session before the store knows whose it is


@dataclass(frozen=True, kw_only=True)
class TokenLifetimes:
    session: timedelta = timedelta(days=30)  # since the session's last refresh
    password_reset: timedelta = timedelta(hours=1)
    email_verification: timedelta = timedelta(days=2)


@dataclass(frozen=True)
class SessionGrant:
    """A login or refresh: the user, the session, and its next refresh token (shown once)."""

    user: User
    session_id: UUID
    refresh_token: str


class _NoEmail:
    async def send(self, message: EmailMessage) -> None:
        return None


class AccountService:
    def __init__(
        self,
        *,
        uow: UowFactory,
        hasher: PasswordHasher,
        clock: Clock,
        mailer: EmailSender | None = None,
        emails: AccountEmails | None = None,
        lifetimes: TokenLifetimes | None = None,
    ) -> None:
        """`mailer` should return quickly (see `todo_core.mail.BackgroundEmailSender`);
        without one, no email is sent."""
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._mailer: EmailSender = mailer or _NoEmail()
        self._emails = emails or AccountEmails()
        self._lifetimes = lifetimes or TokenLifetimes()
        self._dummy_hash: str | None = None

    # Signing up and in.

    async def sign_up(
        self, *, email: str, password: str, username: str | None = None, name: str | None = None
    ) -> User:
        """A new active user, sent a verification email; raises ValidationError or
        DuplicateAccount(field=...)."""
        email, username, name = check_sign_up(
            email=email, password=password, username=username, name=name
        )
        # Hash before opening the transaction: bcrypt is slow and must not hold a connection.
        password_hash = await self._hasher.hash(password)
        user = new_user(
            email=email,
            username=username,
            name=name,
            password_hash=password_hash,
            now=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.users.add(user)
            message = await self._verification(uow, user, tidy=False)
            await uow.commit()
        await self._mailer.send(message)
        return user

    async def authenticate(self, *, login: str, password: str) -> User:
        """The active user with this email or username and password; else AuthenticationFailed."""
        return await self._verified(await self._find(_login_key(login)), password)

    async def log_in(
        self,
        *,
        login: str,
        password: str,
        user_agent: str | None = None,
        gate: LoginGate | None = None,
    ) -> SessionGrant:
        """`authenticate`, and a new session with its first refresh token; `gate`, the login
        throttle's (its refusal raised as it is; failures recorded, a success forgets its
        account's failures).

        One round trip when the password verifies: the store reads the user, the throttle's
        recent failures (when it holds the gate's log) and starts the session speculatively,
        in one statement, before bcrypt; the refresh token is handed out only if the password
        verifies. A failure costs a second round trip, which drops that session and records
        the failure. A success forgets its account's failures (a write) only if it had any."""
        now = self._clock.now()
        session = new_session(
            user_id=_NOBODY, user_agent=user_agent, now=now, lifetime=self._lifetimes.session
        )
        secret, token_hash = new_secret()
        recent: dict[str, list[float]] = {}
        async with self._uow() as uow:
            held = gate is not None and uow.tokens.holds(gate.log)
            if gate is not None and not held:  # a log elsewhere (in memory): asked first
                recent = await gate.log.recent(list(gate.limits), window=gate.window)
                gate.admit(recent)
            start = await uow.tokens.start_login(
                login=_login_key(login),
                session=session,
                token_hash=token_hash,
                gate=gate if held else None,
            )
        # The connection is back in the pool before bcrypt, which must not hold it.
        try:
            if gate is not None and held:
                recent = start.recent
                gate.admit(recent)  # refused: the store started nothing (the same rule)
            user = await self._verified(start.user, password)
        except AuthenticationFailed:
            async with self._uow() as uow:
                await uow.tokens.fail_login(session_id=session.id, gate=gate if held else None)
            if gate is not None and not held:
                await gate.log.record(list(gate.limits), window=gate.window, keep=gate.keep)
            raise
        except Exception:
            if start.started:  # a session nobody will be handed: drop it, as a failure does
                async with self._uow() as uow:
                    await uow.tokens.fail_login(session_id=session.id)
            raise
        if gate is not None and gate.account in recent:
            await gate.log.clear(gate.account)
        if not start.started:  # cannot happen (the store and `_verified` agree): be sound
            return await self.start_session(user=user, user_agent=user_agent)
        return SessionGrant(user, session.id, secret)

    async def _verified(self, user: User | None, password: str) -> User:
        """The user if `password` is theirs; else AuthenticationFailed, after the same bcrypt
        work either way (timing does not tell which accounts exist, nor which sign in only
        through an external issuer)."""
        if user is None or not user.is_active or user.password_hash is None:
            await self._hasher.verify(password, await self._decoy_hash())
            raise AuthenticationFailed()
        if not await self._hasher.verify(password, user.password_hash):
            raise AuthenticationFailed()
        return user

    async def start_session(self, *, user: User, user_agent: str | None = None) -> SessionGrant:
        now = self._clock.now()
        session = new_session(
            user_id=user.id, user_agent=user_agent, now=now, lifetime=self._lifetimes.session
        )
        secret, token_hash = new_secret()
        async with self._uow() as uow:
            await uow.tokens.add_session(session, token_hash=token_hash)
            await uow.commit()
        return SessionGrant(user, session.id, secret)

    async def refresh(self, *, refresh_token: str) -> SessionGrant:
        """Rotate: the token is spent and the session's next one returned. A spent token
        presented again ends its session (both holders must log in again)."""
        now = self._clock.now()
        async with self._uow() as uow:
            use = await uow.tokens.use_refresh_token(_secret_hash(refresh_token), now=now)
            if use is not None and use.reused:
                await uow.tokens.delete_session(use.session.id)
                await uow.commit()
                raise AuthenticationFailed(
                    "This refresh token was already used: its session has been ended."
                )
            if use is None or use.session.is_expired(now):
                raise AuthenticationFailed("The refresh token is invalid or expired.")
            user = await uow.users.get(use.session.user_id)
            if user is None or not user.is_active:
                raise AuthenticationFailed("The refresh token is invalid or expired.")
            secret, token_hash = new_secret()
            use.session.use(now, self._lifetimes.session)
            await uow.tokens.rotate(use.session, token_hash=token_hash)
            await uow.commit()
        return SessionGrant(user, use.session.id, secret)

    async def log_out(self, *, refresh_token: str) -> None:
        """End the session this refresh token belongs to (fresh or spent); unknown: nothing."""
        async with self._uow() as uow:
            use = await uow.tokens.use_refresh_token(
                _secret_hash(refresh_token), now=self._clock.now()
            )
            if use is not None:
                await uow.tokens.delete_session(use.session.id)
            await uow.commit()

    async def sessions(
        self, *, actor_id: UUID, authenticated_at: datetime | None = None
    ) -> list[AuthSession]:
        async with self._uow(read_only=True) as uow:
            await _actor(uow, actor_id, authenticated_at)
            return await uow.tokens.sessions(actor_id, now=self._clock.now())

    async def revoke_session(
        self, *, actor_id: UUID, session_id: UUID, authenticated_at: datetime | None = None
    ) -> None:
        async with self._uow() as uow:
            await _actor(uow, actor_id, authenticated_at)
            if not await uow.tokens.delete_session(session_id, user_id=actor_id):
                raise NotFound("session")
            await uow.commit()

    # The user.

    async def get_user(self, *, user_id: UUID) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("user")
        return user

    async def get_active_user(
        self, *, user_id: UUID, authenticated_at: datetime | None = None
    ) -> User:
        """The subject of a token; a deleted or deactivated user, or a token issued before a
        revocation, fails authentication."""
        async with self._uow(read_only=True) as uow:
            return await _actor(uow, user_id, authenticated_at)

    async def update_profile(
        self,
        *,
        actor_id: UUID,
        authenticated_at: datetime | None = None,
        name: str | Unset | None = UNSET,
        username: str | Unset | None = UNSET,
        email: str | Unset = UNSET,
    ) -> User:
        """Change what is given; a new email is unverified until its link is followed.
        DuplicateAccount(field=...) when the email or username is taken."""
        checks = Checks()
        clean_name: str | Unset | None = checks.run(_keep_unset(normalize_name), name, UNSET)
        clean_username: str | Unset | None = checks.run(
            _keep_unset(normalize_username), username, UNSET
        )
        clean_email: str | Unset = checks.run(_keep_unset(normalize_email), email, UNSET)
        checks.raise_if_any()
        message = None
        async with self._uow() as uow:
            user = await _actor(uow, actor_id, authenticated_at)
            if clean_name is not UNSET:
                user.name = clean_name
            if clean_username is not UNSET:
                user.username = clean_username
            if clean_email is not UNSET and clean_email != user.email:
                user.email, user.email_verified = clean_email, False
                await uow.tokens.delete_one_time(user.id, TokenPurpose.EMAIL_VERIFICATION)
                message = await self._verification(uow, user)
            user.updated_at = self._clock.now()
            await uow.users.update(user)
            await uow.commit()
        if message is not None:
            await self._mailer.send(message)
        return user

    async def change_password(
        self,
        *,
        actor_id: UUID,
        current_password: str,
        new_password: str,
        authenticated_at: datetime | None = None,
    ) -> None:
        """AuthenticationFailed for a wrong current password; ExternalAccount when the
        account has none. Every earlier access token and session stops working."""
        check_new_password(new_password)
        user = await self._password_holder(actor_id, authenticated_at, current_password)
        password_hash = await self._hasher.hash(new_password)
        async with self._uow() as uow:
            user = await _actor(uow, actor_id, authenticated_at)
            await self._set_password(uow, user, password_hash)
            await uow.commit()

    async def delete_account(
        self, *, actor_id: UUID, password: str | None, authenticated_at: datetime | None = None
    ) -> None:
        """Delete the user with their tasks, sessions and tokens. Accounts with a password
        must give it (AuthenticationFailed otherwise); external ones need only the token."""
        user = await self.get_active_user(user_id=actor_id, authenticated_at=authenticated_at)
        if user.has_password:
            await self._check_password(user, password or "")
        async with self._uow() as uow:
            await _actor(uow, actor_id, authenticated_at)
            await uow.users.delete(actor_id)
            await uow.commit()

    # Password reset and email verification.

    async def request_password_reset(self, *, email: str) -> None:
        """Email a reset link if an account with a password has this address; otherwise do
        nothing. The caller answers the same either way, so accounts cannot be probed."""
        try:
            address = normalize_email(email)
        except ValidationError:
            return
        now = self._clock.now()
        lifetime = self._lifetimes.password_reset
        async with self._uow() as uow:
            user = await uow.users.get_by_login(address)
            if user is None or not user.is_active or not user.has_password:
                return
            purpose = TokenPurpose.PASSWORD_RESET
            await uow.tokens.delete_one_time(user.id, purpose, expired_before=now)
            secret, token = new_one_time_token(
                user_id=user.id, purpose=purpose, email=user.email, now=now, lifetime=lifetime
            )
            await uow.tokens.add_one_time(token)
            await uow.commit()
        await self._mailer.send(
            self._emails.password_reset(to=user.email, token=secret, lifetime=lifetime)
        )

    async def reset_password(self, *, token: str, new_password: str) -> None:
        """Set a new password with a reset token (single use). Every earlier access token
        and session stops working. ValidationError naming `token` for a bad token."""
        check_new_password(new_password)
        # Hashed first, also for a bad token: the answer takes as long either way.
        password_hash = await self._hasher.hash(new_password)
        now = self._clock.now()
        async with self._uow() as uow:
            found = await uow.tokens.take_one_time(_secret_hash(token), TokenPurpose.PASSWORD_RESET)
            user = None if found is None else await uow.users.get(found.user_id)
            if found is None or found.is_expired(now) or user is None or not user.is_active:
                await uow.commit()  # an expired token is spent all the same
                raise ValidationError.of("token", _BAD_TOKEN)
            if user.email == found.email:  # the link reached the address: it is verified
                user.email_verified = True
            await self._set_password(uow, user, password_hash)
            await uow.tokens.delete_one_time(user.id, TokenPurpose.PASSWORD_RESET)
            await uow.commit()

    async def request_email_verification(
        self, *, actor_id: UUID, authenticated_at: datetime | None = None
    ) -> None:
        """Email a verification link to the user's address (none if already verified)."""
        async with self._uow() as uow:
            user = await _actor(uow, actor_id, authenticated_at)
            if user.email_verified:
                return
            message = await self._verification(uow, user)
            await uow.commit()
        await self._mailer.send(message)

    async def verify_email(self, *, token: str) -> User:
        """Mark the address verified. ValidationError naming `token` for a bad token,
        or one sent to an address the account no longer has."""
        now = self._clock.now()
        async with self._uow() as uow:
            purpose = TokenPurpose.EMAIL_VERIFICATION
            found = await uow.tokens.take_one_time(_secret_hash(token), purpose)
            user = None if found is None else await uow.users.get(found.user_id)
            if found is None or found.is_expired(now) or user is None or user.email != found.email:
                await uow.commit()
                raise ValidationError.of("token", _BAD_TOKEN)
            user.email_verified, user.updated_at = True, now
            await uow.users.update(user)
            await uow.tokens.delete_one_time(user.id, purpose)
            await uow.commit()
        return user

    # Helpers.

    async def _verification(
        self, uow: UnitOfWork, user: User, *, tidy: bool = True
    ) -> EmailMessage:
        """Store a verification token for the user's address; the email to send after commit.
        `tidy`: drop the user's expired ones first (a new user has none)."""
        now, lifetime = self._clock.now(), self._lifetimes.email_verification
        purpose = TokenPurpose.EMAIL_VERIFICATION
        if tidy:
            await uow.tokens.delete_one_time(user.id, purpose, expired_before=now)
        secret, token = new_one_time_token(
            user_id=user.id, purpose=purpose, email=user.email, now=now, lifetime=lifetime
        )
        await uow.tokens.add_one_time(token)
        return self._emails.verification(to=user.email, token=secret, lifetime=lifetime)

    async def _set_password(self, uow: UnitOfWork, user: User, password_hash: str) -> None:
        user.password_hash = password_hash
        user.revoke_tokens(self._clock.now())
        await uow.users.update(user)
        await uow.tokens.delete_sessions(user.id)

    async def _password_holder(
        self, actor_id: UUID, authenticated_at: datetime | None, password: str
    ) -> User:
        user = await self.get_active_user(user_id=actor_id, authenticated_at=authenticated_at)
        await self._check_password(user, password)
        return user

    async def _check_password(self, user: User, password: str) -> None:
        if user.password_hash is None or not user.has_password:
            raise ExternalAccount(await self._provider(user.id))
        if not await self._hasher.verify(password, user.password_hash):
            raise AuthenticationFailed(_WRONG_PASSWORD)

    async def _provider(self, user_id: UUID) -> str | None:
        """The issuer an external account signs in with (see todo_core.services.identities)."""
        async with self._uow(read_only=True) as uow:
            identities = await uow.identities.list_for_user(user_id)
        return identities[0].issuer if identities else None

    async def _find(self, login: str | None) -> User | None:
        if login is None:  # cannot match any stored account: no need to ask the database
            return None
        async with self._uow(read_only=True) as uow:
            return await uow.users.get_by_login(login)

    async def _decoy_hash(self) -> str:
        # Made by the configured hasher, so it costs exactly what a real user's hash costs.
        if self._dummy_hash is None:
            self._dummy_hash = await self._hasher.hash(secrets.token_urlsafe(24))
        return self._dummy_hash


async def _actor(uow: UnitOfWork, user_id: UUID, authenticated_at: datetime | None) -> User:
    user = await uow.users.get(user_id)
    if user is None or not user.accepts_token(authenticated_at):
        raise AuthenticationFailed("The access token is no longer valid; log in again.")
    return user


def _secret_hash(secret: str) -> bytes:
    # Far longer than any token we issue: hash a constant instead (it matches nothing).
    return hash_secret(secret if len(secret) <= SECRET_MAX else "")


def _keep_unset(rule: Callable[[A], T]) -> Callable[[A | Unset], T | Unset]:
    """`rule` for a given value; UNSET ("leave as is") passes through."""

    def apply(value: A | Unset) -> T | Unset:
        return UNSET if isinstance(value, _Unset) else rule(value)

    return apply


def _login_key(login: str) -> str | None:
    """The normalised email or username to look up, or None if `login` can be neither.

    Checking the shape first keeps odd input (NUL, megabytes) away from the database.
    """
    try:
        if isinstance(login, str) and "@" in login:
            return normalize_email(login)
        return normalize_username(login)
    except ValidationError:
        return None


__all__ = ["AccountService", "SessionGrant", "TokenLifetimes"]
