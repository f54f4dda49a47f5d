"""Dependency aliases, so route functions read as what they need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypedDict
from uuid import UUID

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer

from todo_api.container import Services
from todo_api.routes import API_PREFIX
from todo_api.tokens import Claims
from todo_core import AuthenticationFailed, User

LOGIN_PATH = f"{API_PREFIX}/auth/login"

# auto_error=False: a missing token becomes our own 401 problem, not FastAPI's plain one.
_bearer = OAuth2PasswordBearer(tokenUrl=LOGIN_PATH, auto_error=False)


async def _services(request: Request) -> Services:
    # `async` although it awaits nothing: FastAPI runs a plain `def` dependency in a worker
    # thread, and that hop cost more per request than the rest of the dependency tree.
    return _services_of(request)


def _services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


async def _claims(request: Request, token: Annotated[str | None, Depends(_bearer)]) -> Claims:
    """What the token says (FastAPI resolves this once per request, however many use it)."""
    if not token:
        raise AuthenticationFailed("Not authenticated: send `Authorization: Bearer <token>`.")
    return await _services_of(request).tokens.verify(token)


TokenClaims = Annotated[Claims, Depends(_claims)]


async def _actor_id(claims: TokenClaims) -> UUID:
    """Who the token speaks for. Whether that user still exists, is active and has not
    revoked the token since `AuthenticatedAt` is the service's check, made inside the
    operation's own unit of work (no second transaction)."""
    return claims.subject


async def _authenticated_at(claims: TokenClaims) -> datetime:
    return claims.issued_at


ActorId = Annotated[UUID, Depends(_actor_id)]
AuthenticatedAt = Annotated[datetime, Depends(_authenticated_at)]


async def _current_user(services: ServicesDep, claims: TokenClaims) -> User:
    return await services.accounts.get_active_user(
        user_id=claims.subject, authenticated_at=claims.issued_at
    )


CurrentUser = Annotated[User, Depends(_current_user)]


def user_agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


USER_REF_PATTERN = r"^[A-Za-z0-9._~:@|+=-]{1,255}$"
# A path's `{user_id}`: `me`, the caller's own local id, or their id at the external issuer
# (what a Better Auth front end has at hand). Anything else names someone else.
UserRef = Annotated[
    str,
    Path(
        pattern=USER_REF_PATTERN,
        description="`me`, your user id, or your id at the external identity provider",
        examples=["me"],
    ),
]
# Never a user's id (ids are uuid4), so the service answers "another user" (403) for it.
SOMEONE_ELSE = UUID(int=0)


def owner_of(user_ref: str, claims: Claims) -> UUID:
    if user_ref == "me" or user_ref == claims.external_subject:
        return claims.subject
    try:
        return UUID(user_ref)
    except ValueError:
        return SOMEONE_ELSE


async def _owner_id(user_id: UserRef, claims: TokenClaims) -> UUID:
    return owner_of(user_id, claims)


OwnerId = Annotated[UUID, Depends(_owner_id)]


class Acting(TypedDict):
    """The keywords every task service call opens with: who acts, the token's issue time (the
    service checks it against revocations) and whose tasks."""

    actor_id: UUID
    authenticated_at: datetime
    owner_id: UUID


@dataclass(frozen=True, slots=True)
class Caller:
    """A request on `/users/{user_id}/...` or `/api/{user_id}/...`: the services, and who acts on
    whose tasks (`caller.services.tasks.get(**caller.acting, task_id=...)`)."""

    services: Services
    acting: Acting

    @property
    def owner_id(self) -> UUID:
        return self.acting["owner_id"]


async def _caller(request: Request, user_id: UserRef, claims: TokenClaims) -> Caller:
    # One dependency for what the task routes need: FastAPI resolves every dependency of every
    # request anew, and six small ones (services, actor, issue time, owner...) cost more than
    # the route's own work. The token is checked first (a sub-dependency), so a request with
    # neither a token nor a valid `{user_id}` is a 401, as before.
    acting = Acting(
        actor_id=claims.subject,
        authenticated_at=claims.issued_at,
        owner_id=owner_of(user_id, claims),
    )
    return Caller(_services_of(request), acting)


CallerDep = Annotated[Caller, Depends(_caller)]


async def caller_for(request: Request, *, user_ref: str, token: str | None) -> Caller:
    """What `CallerDep` resolves to, the token checked first, outside FastAPI's dependency
    solving (for todo_api.express)."""
    return await _caller(request, user_ref, await _claims(request, token))
