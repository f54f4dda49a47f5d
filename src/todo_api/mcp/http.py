"""The MCP server over streamable HTTP at `/mcp`, behind the API's own bearer tokens.

The SDK's bearer middleware does the refusing as the MCP authorization spec says (401 with
`WWW-Authenticate: Bearer ... resource_metadata=...`, and the RFC 9728 protected-resource
document it points to); the token itself is checked by the API's `TokenService`, so local and
external identities are accepted exactly as on every other route. Stateless and JSON-answered:
any worker or instance can serve any request, as with the rest of the API.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from todo_api.container import Services
from todo_api.mcp.server import build_mcp_server
from todo_api.tokens import Claims
from todo_core import AuthenticationFailed, IdentityConflict

MCP_PATH = "/mcp"


class ApiTokenVerifier:
    """The SDK's `TokenVerifier`, answered by the API's own token service."""

    def __init__(self, services: Services) -> None:
        self._tokens = services.tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            claims = await self._tokens.verify(token)
        except (AuthenticationFailed, IdentityConflict):  # the latter: an external identity
            return None  # that may not be linked (see todo_core.services.identities)
        return AccessToken(
            token=token,
            client_id="todo-api",
            scopes=[],
            subject=str(claims.subject),
            claims={_CLAIMS: claims},
        )


_CLAIMS = "todo_claims"  # where the verified Claims ride to the tools, within this process


async def _bearer_actor() -> Claims:
    access = get_access_token()
    claims = (access.claims or {}).get(_CLAIMS) if access is not None else None
    if not isinstance(claims, Claims):  # the middleware lets no request through without
        raise AuthenticationFailed()
    return claims


def install_mcp(
    app: FastAPI, services: Services, *, public_url: str, version: str
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """Route `/mcp` (and its protected-resource metadata) into `app`; returns what the app's
    lifespan must enter to run the MCP session manager."""
    base = public_url.rstrip("/")
    auth = AuthSettings(
        issuer_url=base,  # where tokens come from: this API's login (or its external issuer)
        resource_server_url=f"{base}{MCP_PATH}",
        validate_token_resource=False,  # our tokens carry no resource indicator
    )
    server = build_mcp_server(
        services,
        actor=_bearer_actor,
        version=version,
        auth=auth,
        token_verifier=ApiTokenVerifier(services),
    )
    mcp_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        json_response=True,
        # DNS-rebinding protection guards cookie- or network-trusted local servers; every
        # request here carries a bearer token a rebinding page cannot have, and the API runs
        # behind arbitrary host names.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    # The SDK's app routes by the full path and wraps its routes in its auth middleware:
    # hand it exactly its own paths, so everything else stays the API's (problem+json 404s).
    for route in mcp_app.routes:
        if isinstance(route, Route):
            app.router.routes.append(Route(route.path, endpoint=mcp_app, methods=route.methods))
    return server.session_manager.run
