"""Sign up, log in (OAuth2 password form, so /docs can authorize) and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from todo_api.deps import CurrentUser, ServicesDep
from todo_api.responses import JSON, user_body
from todo_api.schemas.accounts import AccessToken, SignUp, UserPublic
from todo_api.schemas.problems import problem_responses

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
    form: Annotated[OAuth2PasswordRequestForm, Depends()], services: ServicesDep
) -> JSON:
    """`username` is the email or the username."""
    user = await services.accounts.authenticate(login=form.username, password=form.password)
    token = services.tokens.issue(user_id=user.id)
    body = AccessToken(access_token=token.access_token, expires_in=token.expires_in)
    return JSON(body.model_dump(), headers={"Cache-Control": "no-store"})


@router.get("/users/me", response_model=UserPublic, responses=problem_responses(401))
async def me(user: CurrentUser) -> JSON:
    return JSON(user_body(user))
