"""`todo mcp`: the MCP server over stdio, for desktop agents, acting for one user.

The user is whoever `TODO_ACCESS_TOKEN` speaks for, verified by the same token service as the
HTTP API, at start (a missing, invalid or expired token stops the command in one line) and again
on every call (so an expired or revoked token stops working here too). stdout is the protocol:
everything else goes to stderr.
"""

from __future__ import annotations

import os

from todo_api.container import Services
from todo_api.deps import LOGIN_PATH
from todo_api.mcp.server import build_mcp_server
from todo_api.tokens import Claims
from todo_core import AuthenticationFailed

TOKEN_VARIABLE = "TODO_ACCESS_TOKEN"  # noqa: S105 - a variable's name


class AgentTokenError(ValueError):
    """TODO_ACCESS_TOKEN is missing or does not identify an active user."""


def access_token() -> str:
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise AgentTokenError(
            f"{TOKEN_VARIABLE} is not set: log in (POST {LOGIN_PATH}) and put the "
            "access token in it"
        )
    return token


async def serve_stdio(services: Services, *, token: str, version: str) -> None:
    """Check the token, then serve MCP on stdin/stdout until the client goes away."""

    async def actor() -> Claims:
        # Per call: the signature and expiry. Whether the user still exists, is active and
        # has not revoked the token is the task service's own check, inside each operation.
        return await services.tokens.verify(token)

    try:
        claims = await actor()
        await services.accounts.get_active_user(
            user_id=claims.subject, authenticated_at=claims.issued_at
        )
    except AuthenticationFailed as error:
        raise AgentTokenError(f"{TOKEN_VARIABLE} is not accepted: {error}") from None
    await build_mcp_server(services, actor=actor, version=version).run_stdio_async()
