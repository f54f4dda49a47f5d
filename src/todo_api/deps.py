"""Dependency aliases, so route functions read as what they need."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from todo_api.container import Services
from todo_core import AuthenticationFailed, User

LOGIN_PATH = "/api/v1/auth/login"

# auto_error=False: a missing token becomes our own 401 problem, not FastAPI's plain one.
_bearer = OAuth2PasswordBearer(tokenUrl=LOGIN_PATH, auto_error=False)


async def _services(request: Request) -> Services:
    # `async` although it awaits nothing: FastAPI runs a plain `def` dependency in a worker
    # thread, and that hop cost more per request than the rest of the dependency tree.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(_services)]


async def _actor_id(services: ServicesDep, token: Annotated[str | None, Depends(_bearer)]) -> UUID:
    """Who the token speaks for. Whether that user still exists and is active is the
    service's check, made inside the operation's own unit of work (no second transaction)."""
    if not token:
        raise AuthenticationFailed("Not authenticated: send `Authorization: Bearer <token>`.")
    return await services.tokens.subject(token)


ActorId = Annotated[UUID, Depends(_actor_id)]


async def _current_user(services: ServicesDep, actor_id: ActorId) -> User:
    return await services.accounts.get_active_user(user_id=actor_id)


CurrentUser = Annotated[User, Depends(_current_user)]
