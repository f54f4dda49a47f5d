"""Running Debian's `wrk` with the harness's Lua script, and reading what it reports.

The script's `done()` prints one `BENCH_JSON {...}` line: request count, duration, latency
percentiles from wrk's own histogram (`--latency` keeps the full distribution) and the errors,
counting every answer outside 2xx. wrk's CPU time is read from the kernel (children's rusage),
so the report can show how much of the two cores the load generator itself took.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("lua") / "request.lua"
_MARK = "BENCH_JSON "


@dataclass(frozen=True)
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus socket errors (connect, read, write, timeout)
    requests: int
    wrk_cpu: float  # cores the load generator used on average (1.0 = one core)
    ids_exhausted: int = 0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (the nox session does it)")
    return found


def start(
    url: str, *, env: dict[str, str], seconds: float, connections: int, threads: int = 1
) -> subprocess.Popen[str]:
    command = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
    ]
    environment = {**os.environ, **env, "BENCH_THREADS": str(threads)}
    return subprocess.Popen(  # noqa: S603 - our own argv
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], cpu_before: float) -> Load:
    out, err = process.communicate()
    cpu = children_cpu() - cpu_before
    line = next((ln for ln in out.splitlines() if ln.startswith(_MARK)), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err.strip() or out.strip()}")
    raw = json.loads(line[len(_MARK) :])
    seconds = raw["duration_us"] / 1e6
    return Load(
        rps=raw["requests"] / seconds,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        errors=raw["non2xx"] + raw["socket_errors"],
        requests=raw["requests"],
        wrk_cpu=cpu / seconds,
        ids_exhausted=raw["ids_exhausted"],
    )


def run(
    url: str, *, env: dict[str, str], seconds: float, connections: int, threads: int = 1
) -> Load:
    before = children_cpu()
    process = start(url, env=env, seconds=seconds, connections=connections, threads=threads)
    return finish(process, before)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
