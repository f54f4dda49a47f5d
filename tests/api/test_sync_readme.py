"""The README's sync client runs as printed, against the real app on PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

README = Path(__file__).parents[2] / "README.md"


def sync_client_example() -> str:
    section = README.read_text().split("## Writing a sync client", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README lost its sync client"
    return match.group(1)


async def test_readme_sync_client_runs(client: httpx.AsyncClient) -> None:
    namespace: dict[str, Any] = {"__name__": "readme_sync_client"}
    exec(compile(sync_client_example(), "README.md", "exec"), namespace)  # noqa: S102 - our README
    titles = await namespace["main"](client)
    assert titles == ["Buy oat milk (high)", "Call Bob (medium)", "Plan the trip (medium)"]
