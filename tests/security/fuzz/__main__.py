"""Fuzz the whole API with schemathesis: `python -m tests.security.fuzz [--examples N]`.

A throwaway PostgreSQL (as the tests get theirs), migrated; the real app on a loopback port;
one signed-up user. Then schemathesis runs every phase (examples, coverage, fuzzing, stateful)
over the whole OpenAPI twice: with that user's bearer token, and without one. Checks: no 5xx,
status codes, content types, headers and bodies as documented, and no stack trace, SQL, driver
text or secret in any response (`hooks.py`). Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from tests.api.conftest import PASSWORD, TEST_SECRET, make_settings
from tests.security.fuzz.server import serve
from tests.security.fuzz.summary import summarize
from tests.support.databases import fresh_database, postgres_server
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_core.postgres import migrate

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "positive_data_acceptance",  # a request the schema calls valid is not refused
        "unsupported_method",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    ]
)
REPORTS = Path("build/fuzz")
CONFIG = Path(__file__).with_name("schemathesis.toml").resolve()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.security.fuzz")
    parser.add_argument("--examples", type=int, default=40, help="per operation and phase")
    parser.add_argument("--seed", type=int, default=20260601)
    args = parser.parse_args()
    with postgres_server() as server, fresh_database(server, prefix="todo_fuzz") as url:
        asyncio.run(migrate.upgrade(url))
        settings = make_settings(url, access_log=False)  # a line per request buries the report
        with serve(create_app(build_services(Config.of(settings)), settings)) as base:
            token, user_id = _signed_up_user(base)
            print(f"fuzz: {_login_timing(base)}", flush=True)
            runs = {
                "authenticated": ([f"Authorization: Bearer {token}"], {"FUZZ_USER_ID": user_id}),
                "anonymous": ([], {}),
            }
            failed = [
                name
                for name, (headers, env) in runs.items()
                if _schemathesis(name, base, headers, args, env={**env, **_secrets(url)}) != 0
            ]
    print(f"fuzz: {'FAILED: ' + ', '.join(failed) if failed else 'every run passed'}")
    return 1 if failed else 0


def _signed_up_user(base: str) -> tuple[str, str]:
    """A real user's bearer token and id."""
    with httpx.Client(base_url=base) as client:
        email = "fuzzer@example.com"
        signup = client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
        signup.raise_for_status()
        login = client.post("/api/v1/auth/login", data={"username": email, "password": PASSWORD})
        login.raise_for_status()
        return login.json()["access_token"], signup.json()["id"]


def _login_timing(base: str, tries: int = 8) -> str:
    """Measured, never asserted (timing is noisy): a wrong password for a real account against
    an unknown account. Few enough tries to stay under the login throttle."""

    def median_ms(login: str) -> float:
        times = []
        with httpx.Client(base_url=base) as client:
            for _ in range(tries):
                started = time.perf_counter()
                client.post("/api/v1/auth/login", data={"username": login, "password": "wrong!"})
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    known, unknown = median_ms("fuzzer@example.com"), median_ms("nobody@example.com")
    return (
        f"login timing (bcrypt cost 4, medians of {tries}): wrong password {known:.1f} ms, "
        f"unknown user {unknown:.1f} ms"
    )


def _secrets(url: URL) -> dict[str, str]:
    secrets = [TEST_SECRET, *([str(url.password)] if url.password else [])]
    return {"FUZZ_SECRETS": "\n".join(secrets)}


def _schemathesis(
    name: str, base: str, headers: list[str], args: argparse.Namespace, *, env: dict[str, str]
) -> int:
    reports = (REPORTS / name).resolve()
    shutil.rmtree(reports, ignore_errors=True)
    reports.mkdir(parents=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        f"--config-file={CONFIG}",
        "run",
        f"{base}/openapi.json",
        f"--checks={CHECKS}",
        f"--max-examples={args.examples}",
        f"--seed={args.seed}",
        "--workers=1",  # CPython 3.11 ast.parse is not thread-safe (hypothesis uses it)
        "--request-timeout=30",
        "--suppress-health-check=all",
        "--report=junit,ndjson",
        f"--report-dir={reports}",
        *[option for header in headers for option in ("-H", header)],
    ]
    env = {
        **os.environ,
        **env,
        "SCHEMATHESIS_HOOKS": "tests.security.fuzz.hooks",
        "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]),
    }
    print(f"fuzz: {name} run", flush=True)
    # Run from the report folder: schemathesis keeps a cache folder in its working directory.
    code = subprocess.run(command, env=env, cwd=reports, check=False).returncode  # noqa: S603
    for report in reports.glob("*.ndjson"):
        print(f"fuzz: {name}: {summarize(report)}", flush=True)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
