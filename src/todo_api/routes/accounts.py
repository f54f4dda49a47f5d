"""Sign up, log in (OAuth2 password form, so /docs can authorize) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from todo_api.deps import CurrentUser, ServicesDep
from todo_api.responses import JSON, user_body
from todo_api.schemas.accounts import AccessToken, SignUp, UserPublic
from todo_api.schemas.problems import problem_responses
from todo_api.throttle import LoginThrottle
from todo_core import AuthenticationFailed

router = APIRouter(tags=["accounts"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problem_responses(409, 413, 422),
)
async def sign_up(body: SignUp, services: ServicesDep) -> JSON:
    user = await services.accounts.sign_up(
        email=body.email, password=body.password, username=body.username, name=body.name
    )
    return JSON(user_body(user), status_code=201, headers={"Location": "/api/v1/users/me"})


@router.post("/auth/login", response_model=AccessToken, responses=problem_responses(401, 422, 429))
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep, request: Request
) -> JSON:
    """`username` is the email or the username. Repeated failures, per account or per client
    address, are refused for a while with 429 and `Retry-After`."""
    throttle: LoginThrottle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    throttle.check(account=form.username, address=address)
    try:
        user = await services.accounts.authenticate(login=form.username, password=form.password)
    except AuthenticationFailed:
        throttle.failed(account=form.username, address=address)
        raise
    throttle.succeeded(account=form.username)
    token = services.tokens.issue(user_id=user.id)
    body = AccessToken(access_token=token.access_token, expires_in=token.expires_in)
    return JSON(body.model_dump(), headers={"Cache-Control": "no-store"})


@router.get("/users/me", response_model=UserPublic, responses=problem_responses(401))
async def me(user: CurrentUser) -> JSON:
    return JSON(user_body(user))
