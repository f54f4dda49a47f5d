"""The HTTP API (and the MCP server) over `todo_core`'s services."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("todo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
