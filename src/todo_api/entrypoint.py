"""The `todo` command's entry point: a library-only install (`pip install todo`, without the
`server` extra) gets a one-line hint instead of a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from todo_api.cli import main as run
    except ModuleNotFoundError as error:
        print(
            f"todo: error: the todo command needs the server extra ({error.name} is missing): "
            "pip install 'todo[server]'",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    run()
