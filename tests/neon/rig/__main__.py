"""`python -m tests.neon.rig up|down DIR` (see the package docstring)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tests.neon.rig import RigState, down, up
from tests.neon.rig.state import STATE_FILE


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.neon.rig")
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    root: Path = args.directory.resolve()
    if args.action == "up":
        state = up(root)
        print(f"neon rig: postgres 127.0.0.1:{state.pg_port}, pgbouncer :{state.bouncer_port}")
    elif (root / STATE_FILE).exists():
        down(RigState.load(root / STATE_FILE))
        print("neon rig: stopped")


if __name__ == "__main__":
    main()
