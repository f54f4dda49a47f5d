"""The app's OpenAPI document is the committed `specs/openapi.json`, byte for byte.

A change to the API shows up here as a diff to review. When the change is meant, regenerate the
copy with `UPDATE_OPENAPI=1 pytest tests/api/test_openapi_snapshot.py` (the test then writes the
file instead of comparing) and commit it with the change.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

from fastapi import FastAPI

SNAPSHOT = Path(__file__).resolve().parents[2] / "specs" / "openapi.json"
MAX_DIFF_LINES = 60


def serialise(document: dict[str, object]) -> str:
    """Deterministic text: sorted keys, two-space indent, one trailing newline."""
    return json.dumps(document, sort_keys=True, indent=2) + "\n"


def test_openapi_document_matches_the_committed_copy(app: FastAPI) -> None:
    current = serialise(app.openapi())
    if os.environ.get("UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(current, encoding="utf-8")
        return
    committed = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if current == committed:
        return
    diff = list(
        difflib.unified_diff(
            committed.splitlines(),
            current.splitlines(),
            fromfile="specs/openapi.json (committed)",
            tofile="openapi.json (app)",
            lineterm="",
        )
    )
    shown = "\n".join(diff[:MAX_DIFF_LINES])
    hidden = len(diff) - MAX_DIFF_LINES
    more = f"\n... {hidden} more diff lines" if hidden > 0 else ""
    raise AssertionError(
        "The OpenAPI document differs from specs/openapi.json; if the change is meant, run "
        f"UPDATE_OPENAPI=1 pytest tests/api/test_openapi_snapshot.py\n{shown}{more}"
    )
