"""Every check the project runs, the same on a laptop and in CI (`.ci/run`).

nox -s tests        the whole suite: unit, integration (PostgreSQL) and API (HTTP)
nox -s unit | integration | api
nox -s lint         ruff + import-linter (the layer contracts in pyproject.toml)
nox -s typecheck    mypy (strict on todo_core)
nox -s dev          the API on a throwaway PostgreSQL, seeded, at http://127.0.0.1:8000
nox -s neon         integration + API suites on a local Neon-like rig (direct TLS/SCRAM
                    endpoint, then PgBouncer in transaction mode), then its fault scenarios
nox -s docs         a newcomer's walk through /docs in headless Chromium (CI)
nox -s fuzz         schemathesis over the whole OpenAPI, with a token and without (CI)
nox -s secrets      detect-secrets over every tracked file, against a reviewed baseline (CI)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

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
def docs(session: nox.Session) -> None:
    """A newcomer's walk through /docs in headless Chromium (Debian's, installed if missing)."""
    if shutil.which("chromium") is None:
        session.run("apt-get", "update", "-qq", external=True)
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True)
    _install(session, "test")
    session.install("playwright>=1.40")
    session.run("pytest", "tests/browser", *session.posargs)


@nox.session(python=PYTHON)
def dev(session: nox.Session) -> None:
    _install(session)
    session.run("todo", "dev", *session.posargs)


# Bounded so that CI's fuzz run stays within a few minutes on 2 cores; `-- --examples N` for more.
FUZZ_EXAMPLES = "600"


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    _install(session, "test")
    session.install("schemathesis>=4.30,<5")
    examples = session.posargs or ["--examples", FUZZ_EXAMPLES]
    session.run("python", "-m", "tests.security.fuzz", *examples)


@nox.session(python=PYTHON)
def secrets(session: nox.Session) -> None:
    """detect-secrets over every tracked file against the reviewed baseline; see
    tests/security/secret_scan.py (pinned: a new version may hash or detect differently)."""
    session.install("detect-secrets==1.5.0")
    session.run("python", "-m", "tests.security.secret_scan", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Throughput and latency against the no-op and raw-psycopg ceilings (see bench/README.md).

    nox -s bench -- --quick     under 3 minutes; also: --seconds S, --database-url URL
    """
    import os
    import shutil

    if shutil.which("wrk") is None:  # Debian's wrk is the load generator; CI images may lack it
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        session.run(*sudo, "apt-get", "update", "-qq", external=True)
        session.run(*sudo, "apt-get", "install", "-y", "-qq", "wrk", external=True)
    session.install("-e", ".", "matplotlib>=3.8", "py-spy>=0.3.14")
    session.run("python", "-m", "bench", *session.posargs)


@nox.session(python=PYTHON)
def neon(session: nox.Session) -> None:
    _install(session, "test")
    root = Path(tempfile.mkdtemp(prefix="todo-neon-"))
    session.run("python", "-m", "tests.neon.rig", "up", str(root))
    try:
        passes = json.loads((root / "passes.json").read_text())
        suites = ["tests/integration", "tests/api", *session.posargs]
        session.log("pass 1 of 3: the direct endpoint (sslmode=require&channel_binding=require)")
        session.run("pytest", *suites, env=passes["direct"])
        session.log("pass 2 of 3: through PgBouncer, transaction mode (sslmode=require)")
        session.run("pytest", *suites, env=passes["pooled"])
        session.log("pass 3 of 3: the fault scenarios")
        session.run("pytest", "tests/neon", "-s", *session.posargs, env=passes["faults"])
    finally:
        session.run("python", "-m", "tests.neon.rig", "down", str(root))
