"""Every check the project runs, the same on a laptop and in CI (`.ci/run`).

nox -s tests        the whole suite: unit, integration (PostgreSQL) and API (HTTP)
nox -s unit | integration | api
nox -s lint         ruff + import-linter (the layer contracts in pyproject.toml)
nox -s typecheck    mypy (strict on todo_core)
nox -s dev          the API on a throwaway PostgreSQL, seeded, at http://127.0.0.1:8000
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = None  # the interpreter nox itself runs on (3.11+)


def _install(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(python=PYTHON)
def unit(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session(python=PYTHON)
def integration(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "tests/integration", *session.posargs)


@nox.session(python=PYTHON)
def api(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "tests/api", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    _install(session, "lint")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    _install(session, "typecheck", "test")
    session.run("mypy")


@nox.session(python=PYTHON)
def dev(session: nox.Session) -> None:
    _install(session)
    session.run("todo", "dev", *session.posargs)
