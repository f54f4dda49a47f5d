"""Every check the project runs, the same on a laptop and in CI (`.ci/run`).

nox -s tests        the whole suite: unit, integration (PostgreSQL) and API (HTTP)
nox -s tests-newest the whole suite again on the newest CPython here (3.13; CI runs both)
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
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = None  # the interpreter nox itself runs on (3.11+)
NEWEST = "3.13"  # the newest CPython on the project's machines; CI runs the suite on it too

# Every install of the project's own sessions is constrained by the lock file, so CI, laptops
# and deploys run the versions that were tested (see "Dependencies" in README.md to refresh it).
LOCK = "requirements.lock"


def _install(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-c", LOCK, "-e", spec)


def _interpreter(version: str) -> str:
    """python3.X from PATH when it runs, else pyenv's (its shim only answers for the active
    version), else the bare version for nox to report as missing."""
    for candidate in (shutil.which(f"python{version}"), _pyenv_python(version)):
        if candidate and _runs(candidate):
            return candidate
    return version


def _pyenv_python(version: str) -> str | None:
    if shutil.which("pyenv") is None:
        return None
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
    installs = sorted(Path(root.stdout.strip(), "versions").glob(f"{version}.*"), reverse=True)
    return next((str(p / "bin" / "python3") for p in installs if (p / "bin").is_dir()), None)


def _runs(python: str) -> bool:
    probe = subprocess.run([python, "-c", "pass"], capture_output=True, check=False)
    return probe.returncode == 0


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(name="tests-newest", python=_interpreter(NEWEST))
def tests_newest(session: nox.Session) -> None:
    _install(session, "test")
    session.run("pytest", "-q", *(session.posargs or ["tests"]))


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
    _install(session, "typecheck", "test", "bench")  # bench/ is checked: its imports resolve
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
    _install(session, "dev")
    session.run("todo", "dev", *session.posargs)


# Bounded so that CI's fuzz run (30 operations, two passes, every phase) stays within minutes on
# 2 cores; `-- --examples 600` for a deeper run before a release.
FUZZ_EXAMPLES = "100"


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
    if shutil.which("wrk") is None:  # Debian's wrk is the load generator; CI images may lack it
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        session.run(*sudo, "apt-get", "update", "-qq", external=True)
        session.run(*sudo, "apt-get", "install", "-y", "-qq", "wrk", external=True)
    _install(session, "bench")
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
