"""Password reset and email verification by emailed link; refresh tokens and logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from todo_api.background import BackgroundWork
from todo_api.deps import ActorId, AuthenticatedAt, ServicesDep, client_address
from todo_api.responses import JSON, token_pair_body
from todo_api.schemas.accounts import (
    Accepted,
    EmailVerificationConfirm,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenPair,
)
from todo_api.schemas.problems import problem_responses
from todo_api.throttle import LoginThrottle
from todo_core import ValidationError

router = APIRouter(prefix="/auth", tags=["accounts"])

RESET_ACCEPTED = "If an account with this email exists, a link to reset its password is on its way."


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(422, 429),
)
async def request_password_reset(
    body: PasswordResetRequest, services: ServicesDep, request: Request
) -> JSON:
    """Always 202 with the same body: whether an account exists is not revealed. If one
    does, it is emailed a link carrying `token=<token>` (valid 1 hour by default). The
    look-up itself runs after the answer, so the answer takes as long either way."""
    throttle: LoginThrottle = request.app.state.password_throttle
    keys = {
        "account": f"reset:{body.email.strip().lower()[:320]}",
        "address": client_address(request),
    }
    # every request counts: this route sends email on demand
    await throttle.failed(await throttle.check(**keys))
    background: BackgroundWork = request.app.state.background
    background.spawn(
        "password reset request", services.accounts.request_password_reset, email=body.email
    )
    return JSON({"detail": RESET_ACCEPTED}, status_code=202)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422, 429),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, services: ServicesDep, request: Request
) -> Response:
    """Sets `new_password`. The token works once; an unknown, used or expired one is 422
    naming the `token` field. Every session and every earlier access token ends."""
    throttle: LoginThrottle = request.app.state.password_throttle
    address = client_address(request)
    # Per client address only: a shared key would let anyone block every reset.
    keys = {"account": f"reset-confirm:{address}", "address": address}
    attempt = await throttle.check(**keys)
    try:
        await services.accounts.reset_password(token=body.token, new_password=body.new_password)
    except ValidationError as error:
        if any(e.field == "token" for e in error.errors):
            await throttle.failed(attempt)
        raise
    return Response(status_code=204)


@router.post(
    "/verify-email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(401),
)
async def request_email_verification(
    actor: ActorId, issued: AuthenticatedAt, services: ServicesDep
) -> JSON:
    """Emails a link carrying `token=<token>` to the account's address (none when it is
    already verified)."""
    await services.accounts.request_email_verification(actor_id=actor, authenticated_at=issued)
    return JSON({"detail": "A verification link is on its way to your email address."}, 202)


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(422),
)
async def confirm_email(body: EmailVerificationConfirm, services: ServicesDep) -> Response:
    """Marks the address verified. An unknown, used or expired token (or one sent to an
    address the account no longer has) is 422 naming the `token` field."""
    await services.accounts.verify_email(token=body.token)
    return Response(status_code=204)


@router.post("/refresh", response_model=TokenPair, responses=problem_responses(401, 422))
async def refresh(body: RefreshRequest, services: ServicesDep) -> JSON:
    """A new access token and a new refresh token; the one sent is spent. Sending a spent
    refresh token again is 401 and ends its whole session (a sign that it was stolen)."""
    grant = await services.accounts.refresh(refresh_token=body.refresh_token)
    return JSON(token_pair_body(services, grant), headers={"Cache-Control": "no-store"})


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(422))
async def log_out(body: RefreshRequest, services: ServicesDep) -> Response:
    """Ends the session of this refresh token; its access token lapses within its short
    lifetime. An unknown token is 204 as well (nothing to end)."""
    await services.accounts.log_out(refresh_token=body.refresh_token)
    return Response(status_code=204)
