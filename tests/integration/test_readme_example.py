"""The README's library example runs as printed, on PostgreSQL, without importing FastAPI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import URL

README = Path(__file__).parents[2] / "README.md"
NO_WEB = """
import sys
loaded = sorted(m for m in sys.modules if m.split(".")[0] in {"fastapi", "starlette", "todo_api"})
assert not loaded, loaded
print("no web framework imported")
"""


def library_example() -> str:
    section = README.read_text().split("## Use it as a library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README lost its library example"
    return match.group(1)


def test_readme_library_example_runs_without_fastapi(scratch_database: URL) -> None:
    env = {**os.environ, "DATABASE_URL": scratch_database.render_as_string(hide_password=False)}
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", library_example() + NO_WEB],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "[('Write the first program', ('math',))]" in result.stdout
    assert "no web framework imported" in result.stdout
