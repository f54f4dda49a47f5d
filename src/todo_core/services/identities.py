"""External identities: which local user a verified token of an external issuer speaks for.

The rules, in the order `resolve` applies them:

1. (issuer, subject) already linked: that user. The subject is only ever looked up together
   with its issuer, so an external `sub` that happens to equal a local user id means nothing.
2. Not linked, and no account has the token's email: a new user is created just in time from
   the claims (email, name, email verified), with no password, and the pair is linked to it.
3. Not linked, and an account has the token's email: the pair is linked to that account only
   if the token says the email is verified AND the account has verified it too. Both sides
   then proved they own the address. Otherwise `IdentityConflict` (HTTP 409) and nothing
   changes: an unverified email claim never takes over an account, and a local account
   registered (unverified) with someone else's address never captures their sign-in.

Profile fields follow the newest token: when a token issued after the one last applied says
something else (email, name, email verified), the changed fields are copied to the user. A new
email that belongs to another account is not taken; the other fields still follow.

A small in-process cache remembers (issuer, subject) -> user for tokens that say nothing new,
so later requests of a known subject cost no database round trip here. The task services
still check, in their own unit of work, that the user exists and is active.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from todo_core.domain.identities import ExternalClaims, ExternalIdentity, Profile, new_identity
from todo_core.domain.users import new_user
from todo_core.errors import Conflict, IdentityConflict, NotFound
from todo_core.ports import Clock, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("todo.auth")


@dataclass(frozen=True)
class SignInMethods:
    """How a user can sign in: with a password here, and/or through these issuers."""

    password: bool
    issuers: tuple[str, ...]


@dataclass(frozen=True)
class _Known:
    user_id: UUID
    profile: Profile
    until: datetime


class IdentityService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        cache_size: int = 10_000,
        cache_ttl: timedelta = timedelta(minutes=5),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache: OrderedDict[tuple[str, str], _Known] = OrderedDict()
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl

    async def resolve(self, claims: ExternalClaims) -> UUID:
        """The local user these claims speak for, linked or created as the module says."""
        key = (claims.issuer, claims.subject)
        known = self._cache.get(key)
        if known and known.profile == claims.profile and known.until > self._clock.now():
            self._cache.move_to_end(key)
            return known.user_id
        identity = await self._resolve(claims)
        self._remember(key, identity)
        return identity.user_id

    async def sign_in_methods(self, *, user_id: UUID) -> SignInMethods:
        async with self._uow(read_only=True) as uow:
            user = await uow.users.get(user_id)
            if user is None:
                raise NotFound("user")
            identities = await uow.identities.list_for_user(user_id)
        return SignInMethods(user.has_password, tuple(i.issuer for i in identities))

    async def _resolve(self, claims: ExternalClaims) -> ExternalIdentity:
        try:
            return await self._resolve_once(claims)
        except IdentityConflict:
            raise
        except Conflict:
            # A concurrent first request of the same subject (or a sign-up with the same
            # email) committed first; a second look finds what it did.
            return await self._resolve_once(claims)

    async def _resolve_once(self, claims: ExternalClaims) -> ExternalIdentity:
        async with self._uow(read_only=True) as uow:
            identity = await uow.identities.get(issuer=claims.issuer, subject=claims.subject)
        if identity is not None and not identity.is_outdated_by(claims):
            return identity  # the common case: one statement, no transaction
        now = self._clock.now()
        async with self._uow() as uow:
            identity = await uow.identities.get(issuer=claims.issuer, subject=claims.subject)
            if identity is None:
                identity = await _link(uow, claims, now)
            elif identity.is_outdated_by(claims):
                await _follow(uow, identity, claims, now)
            await uow.commit()
        return identity

    def _remember(self, key: tuple[str, str], identity: ExternalIdentity) -> None:
        until = self._clock.now() + self._cache_ttl
        self._cache[key] = _Known(identity.user_id, identity.profile, until)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


async def _link(uow: UnitOfWork, claims: ExternalClaims, now: datetime) -> ExternalIdentity:
    profile = claims.profile
    user = await uow.users.get_by_login(profile.email)
    if user is None:
        user = new_user(
            email=profile.email,
            username=None,
            name=profile.name,
            password_hash=None,
            email_verified=profile.email_verified,
            now=now,
        )
        await uow.users.add(user)
        log.info("external identity: new user created just in time")
    elif not (profile.email_verified and user.email_verified):
        log.info(
            "external identity refused: its email belongs to an account and is not verified "
            "on both sides (token: %s, account: %s)",
            profile.email_verified,
            user.email_verified,
        )
        raise IdentityConflict()
    else:
        log.info("external identity linked to the existing account with its verified email")
    identity = new_identity(claims, user_id=user.id, now=now)
    await uow.identities.add(identity)
    return identity


async def _follow(
    uow: UnitOfWork, identity: ExternalIdentity, claims: ExternalClaims, now: datetime
) -> None:
    """Copy what the issuer changed since the last token onto the user."""
    before, after = identity.profile, claims.profile
    identity.record(claims, now)
    await uow.identities.update(identity)
    user = await uow.users.get(identity.user_id)
    if user is None:
        return
    if after.email != before.email:
        holder = await uow.users.get_by_login(after.email)
        if holder is None or holder.id == user.id:
            user.email, user.email_verified = after.email, after.email_verified
        else:
            log.info("external identity: new email belongs to another account; not taken")
    elif after.email_verified != before.email_verified and user.email == after.email:
        user.email_verified = after.email_verified
    if after.name != before.name:
        user.name = after.name
    user.updated_at = now
    await uow.users.update(user)
