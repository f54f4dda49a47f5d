"""Accounts: signing up, logging in, and looking users up for token subjects."""

from __future__ import annotations

import secrets
from uuid import UUID

from todo_core.domain.users import (
    User,
    check_sign_up,
    new_user,
    normalize_email,
    normalize_username,
)
from todo_core.errors import AuthenticationFailed, NotFound, ValidationError
from todo_core.ports import Clock, PasswordHasher, UnitOfWorkFactory


class AccountService:
    def __init__(self, *, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock
        self._dummy_hash: str | None = None

    async def sign_up(
        self, *, email: str, password: str, username: str | None = None, name: str | None = None
    ) -> User:
        """A new active user; raises ValidationError or DuplicateAccount(field=...)."""
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
            await uow.commit()
        return user

    async def authenticate(self, *, login: str, password: str) -> User:
        """The active user with this email or username and password; else AuthenticationFailed."""
        user = await self._find(_login_key(login))
        if user is None or not user.is_active:
            # Spend the same bcrypt time as a real check, so timing does not reveal accounts.
            await self._hasher.verify(password, await self._decoy_hash())
            raise AuthenticationFailed()
        if not await self._hasher.verify(password, user.password_hash):
            raise AuthenticationFailed()
        return user

    async def get_user(self, *, user_id: UUID) -> User:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound("user")
        return user

    async def get_active_user(self, *, user_id: UUID) -> User:
        """The subject of a token; a deleted or deactivated user fails authentication."""
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(user_id)
        if user is None or not user.is_active:
            raise AuthenticationFailed()
        return user

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
