"""Sign up, log in (OAuth2 password form, so /docs can authorize), and the account itself:
read, change, change its password, delete it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from todo_api.deps import (
    ActorId,
    AuthenticatedAt,
    CurrentUser,
    OwnerId,
    ServicesDep,
    client_address,
    user_agent,
)
from todo_api.responses import JSON, token_pair_body, user_body
from todo_api.routes import API_PREFIX
from todo_api.schemas.accounts import (
    AccountDeletion,
    PasswordChange,
    ProfilePatch,
    SignUp,
    TokenPair,
    UserPublic,
)
from todo_api.schemas.problems import problem_responses
from todo_api.throttle import LoginThrottle
from todo_core import UNSET, AuthenticationFailed, Forbidden, ValidationError

router = APIRouter(tags=["accounts"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problem_responses(409, 413, 422),
)
async def sign_up(body: SignUp, services: ServicesDep) -> JSON:
    """Creates the account and emails a link to verify its address."""
    user = await services.accounts.sign_up(
        email=body.email, password=body.password, username=body.username, name=body.name
    )
    return JSON(user_body(user), status_code=201, headers={"Location": f"{API_PREFIX}/users/me"})


@router.post("/auth/login", response_model=TokenPair, responses=problem_responses(401, 422, 429))
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep, request: Request
) -> JSON:
    """`username` is the email or the username. Returns a short-lived access token and a
    refresh token (a new session). Repeated failures, per account or per client address,
    are refused for a while with 429 and `Retry-After`."""
    throttle: LoginThrottle = request.app.state.login_throttle
    grant = await services.accounts.log_in(  # the throttle's read rides on the login's own
        login=form.username,
        password=form.password,
        user_agent=user_agent(request),
        gate=throttle.gate(account=form.username, address=client_address(request)),
    )
    return JSON(token_pair_body(services, grant), headers={"Cache-Control": "no-store"})


@router.get("/users/me", response_model=UserPublic, responses=problem_responses(401))
async def me(user: CurrentUser) -> JSON:
    return JSON(user_body(user))


@router.patch("/users/me", response_model=UserPublic, responses=problem_responses(401, 409, 422))
async def update_me(
    body: ProfilePatch, actor: ActorId, issued: AuthenticatedAt, services: ServicesDep
) -> JSON:
    """Changes `name`, `username` and `email` (only those sent). A new email is unverified
    and gets a verification link; a taken email or username is 409."""
    sent = body.model_fields_set
    if "email" in sent and body.email is None:
        raise ValidationError.of("email", "may not be null")
    user = await services.accounts.update_profile(
        actor_id=actor,
        authenticated_at=issued,
        name=body.name if "name" in sent else UNSET,
        username=body.username if "username" in sent else UNSET,
        email=body.email if body.email is not None else UNSET,
    )
    return JSON(user_body(user))


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 409, 422, 429),
)
async def change_password(
    body: PasswordChange,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    request: Request,
) -> Response:
    """A wrong `current_password` is 401 (throttled like login: 429 after repeated
    failures). Afterwards every earlier access and refresh token is refused: log in again.
    Accounts from an external identity provider have no password here (409)."""
    async with _password_attempt(request, actor):
        await services.accounts.change_password(
            actor_id=actor,
            authenticated_at=issued,
            current_password=body.current_password,
            new_password=body.new_password,
        )
    return Response(status_code=204)


@router.delete(
    "/users/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 422, 429),
)
async def delete_me(
    body: AccountDeletion,
    actor: ActorId,
    issued: AuthenticatedAt,
    services: ServicesDep,
    request: Request,
) -> Response:
    """Deletes the account with all its tasks and sessions; its tokens are refused from
    then on and the email can sign up again. A wrong `password` is 401 (throttled)."""
    async with _password_attempt(request, actor):
        await services.accounts.delete_account(
            actor_id=actor, authenticated_at=issued, password=body.password
        )
    return Response(status_code=204)


class _password_attempt:  # noqa: N801 - reads as a block: `async with _password_attempt(...)`
    """Throttle password checks per account and client address, as login is throttled."""

    def __init__(self, request: Request, actor: object) -> None:
        self._throttle: LoginThrottle = request.app.state.password_throttle
        self._account, self._address = f"user:{actor}", client_address(request)

    async def __aenter__(self) -> None:
        self._attempt = await self._throttle.check(account=self._account, address=self._address)

    async def __aexit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None and issubclass(kind, AuthenticationFailed):
            await self._throttle.failed(self._attempt)
        elif kind is None:
            await self._throttle.succeeded(self._attempt)


@router.get(
    "/users/{user_id}", response_model=UserPublic, responses=problem_responses(401, 403, 422)
)
async def get_user(user: CurrentUser, owner: OwnerId) -> JSON:
    """`user_id` is `me`, your id, or your id at the external identity provider; anyone
    else's is 403."""
    if owner != user.id:
        raise Forbidden()
    return JSON(user_body(user))
