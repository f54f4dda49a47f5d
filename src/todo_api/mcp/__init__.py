"""Tasks for AI agents: a Model Context Protocol server over the same services, tokens and rules
as the HTTP API (streamable HTTP at `/mcp`, stdio through `todo mcp`)."""

from todo_api.mcp.http import MCP_PATH, install_mcp
from todo_api.mcp.server import build_mcp_server
from todo_api.mcp.stdio import AgentTokenError, access_token, serve_stdio

__all__ = [
    "MCP_PATH",
    "AgentTokenError",
    "access_token",
    "build_mcp_server",
    "install_mcp",
    "serve_stdio",
]
