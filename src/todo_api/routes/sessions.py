"""The account's sessions (one per login and device): list them, end one."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from todo_api.deps import ServicesDep, TokenClaims
from todo_api.responses import JSON, session_body
from todo_api.schemas.accounts import SessionPublic
from todo_api.schemas.problems import problem_responses

router = APIRouter(prefix="/users/me/sessions", tags=["accounts"])


@router.get("", response_model=list[SessionPublic], responses=problem_responses(401))
async def list_sessions(claims: TokenClaims, services: ServicesDep) -> JSON:
    """Active sessions, newest first; `current` marks the one this token belongs to."""
    sessions = await services.accounts.sessions(
        actor_id=claims.subject, authenticated_at=claims.issued_at
    )
    return JSON([session_body(s, current=claims.session_id) for s in sessions])


@router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
)
async def revoke_session(session_id: UUID, claims: TokenClaims, services: ServicesDep) -> Response:
    """Ends the session: its refresh token is refused from now on. Another user's session
    is 404."""
    await services.accounts.revoke_session(
        actor_id=claims.subject, authenticated_at=claims.issued_at, session_id=session_id
    )
    return Response(status_code=204)
