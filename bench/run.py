"""One benchmark run: database, data, servers, every scenario, the ceilings, the report."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import dbceiling, servers, wrk
from bench.data import (
    CROWD_ROLES,
    Dataset,
    log_in,
    prepare,
    prepare_template,
    reset_template_creates,
    write_crowd_files,
)
from bench.scenarios import VERSUS, Scenario, scenarios, template_scenarios

PROBE = "get"  # the request whose latency is watched while logins run


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    connections: int
    probe_connections: int
    login_connections: int  # the login scenario: bcrypt-bound, a few in flight suffice
    stream_connections: int  # the stream of logins beside the probe GET
    db_workers: int
    database_url: str | None
    server_env: dict[str, str] = field(default_factory=dict)  # e.g. DB_POOL_SIZE for trials
    profile: frozenset[str] = frozenset()  # scenarios to record with py-spy
    profile_format: str = "flamegraph"  # or "raw": collapsed stacks, one line per stack
    rounds: int = 1  # the whole schedule this many times; rows are the medians
    versus: bool = False  # only the no-op and ours beside the template (no ceilings, probes)
    # Another checkout's src/ (e.g. `git archive <commit> src | tar -x -C DIR`): a second API
    # server runs from it beside ours, its compared scenarios named `<name>@base`, so a change
    # is measured before and after in the same run, interleaved.
    baseline_src: Path | None = None


@contextmanager
def database(given: str | None) -> Iterator[str]:
    if given:
        yield given
        return
    from todo_core.postgres.embedded import embedded_postgres

    with embedded_postgres() as url:
        yield url.render_as_string(hide_password=False)


def run(options: Options) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    started = time.monotonic()
    with database(options.database_url) as url, tempfile.TemporaryDirectory() as workdir:
        environment = {**servers.api_environment(url), **options.server_env}
        servers.migrate(environment)
        # Enough single-use ids for the fastest rate we have seen, with room to spare.
        one_shot = (int(4000 * options.seconds) + 1000) * options.rounds
        data = prepare(url, Path(workdir), one_shot_ids=one_shot)
        template_env = servers.template_environment(url, secrets.token_urlsafe(48))
        servers.create_template_tables(template_env)
        prepare_template(url, Path(workdir), data, secret=template_env["TEMPLATE_SECRET_KEY"])
        ports = {role: servers.free_port() for role in ("api", "noop", "template")}
        api_server = servers.serve(
            servers.api_command(ports["api"]), environment, ports["api"], "/health"
        )
        noop_server = servers.serve(
            servers.noop_command(ports["noop"]), environment, ports["noop"], "/noop"
        )
        template_server = servers.serve(
            servers.template_command(ports["template"]), template_env, ports["template"], "/ready"
        )
        with (
            api_server as api,
            noop_server as noop,
            template_server as template,
            _baseline(options, environment) as base,
        ):
            for role in ("small", "large", "writer", "churn", *CROWD_ROLES):
                data.tokens[role] = log_in(api.base_url, data.email(role))
            write_crowd_files(data, Path(workdir))
            by_role = {"api": api, "noop": noop, "template": template}
            if base is not None:
                by_role["api_base"] = base
            results = _http(options, data, by_role, url)
            if not options.versus:
                results.update(_logins_and_probe(options, data, api.base_url))
            peak_rss = api.peak_rss_mb()
            noop_rss = noop.peak_rss_mb()
            template_rss = template.peak_rss_mb()
        if not options.versus:
            _database_ceiling(options, data, url, results)
        _ratios(results)
    meta = {
        "seconds_per_scenario": options.seconds,
        "connections": options.connections,
        "rounds": options.rounds,
        "peak_rss_mb": round(peak_rss, 1),
        "noop_peak_rss_mb": round(noop_rss, 1),
        "template_peak_rss_mb": round(template_rss, 1),
        "wall_seconds": round(time.monotonic() - started, 1),
        "load_average_1m_range": _load_range(results),
        "note": f"wrk -t1 -c{options.connections}, {options.seconds:g} s per scenario, "
        f"{options.rounds} round(s), medians; one uvicorn worker per server; wrk, servers and "
        f"PostgreSQL share {_cores()} cores",
    }
    return results, meta


@contextmanager
def _baseline(options: Options, environment: dict[str, str]) -> Iterator[servers.Server | None]:
    if options.baseline_src is None:
        yield None
        return
    port = servers.free_port()
    env = {**environment, "PYTHONPATH": str(options.baseline_src.resolve())}
    with servers.serve(servers.api_command(port), env, port, "/health") as base:
        yield base


def schedule(data: Dataset, *, versus: bool, rounds: int, baseline: bool = False) -> list[Scenario]:
    """Every scenario in order, each template counterpart right after ours; in versus mode
    only the no-op and the compared pairs. Rounds rotate which of a group runs first, so
    a drift in the machine's load does not always favour the same side."""
    template = {s.name: s for s in template_scenarios(data)}
    plan: list[Scenario] = []
    for round_no in range(rounds):
        for scenario in scenarios(data):
            if scenario.name in VERSUS:
                group = [scenario, template[VERSUS[scenario.name]]]
                if baseline:
                    group.append(
                        dataclasses.replace(
                            scenario, name=f"{scenario.name}@base", server="api_base"
                        )
                    )
                shift = round_no % len(group)
                plan.extend(group[shift:] + group[:shift])
            elif not versus or scenario.name == "noop":
                plan.append(scenario)
    return plan


def _http(
    options: Options, data: Dataset, by_role: dict[str, servers.Server], database_url: str
) -> dict[str, dict[str, Any]]:
    urls = {role: server.base_url for role, server in by_role.items()}
    runs: dict[str, list[dict[str, Any]]] = {}
    plan = schedule(
        data, versus=options.versus, rounds=options.rounds, baseline="api_base" in by_role
    )
    for scenario in plan:
        if options.warmup and not scenario.once and scenario.name != "login":
            _load(urls, scenario, data, options.warmup, options.connections)
        connections = options.login_connections if scenario.name == "login" else options.connections
        server = by_role[scenario.server]
        load_average = os.getloadavg()[0]
        cpu_before, started = server.cpu_seconds(), time.monotonic()
        with profiling(server.pid, scenario.name, options):
            load = _load(urls, scenario, data, options.seconds, connections)
        row = _row(load)
        row["server_cpu"] = round(
            (server.cpu_seconds() - cpu_before) / (time.monotonic() - started), 2
        )
        row["load_average_1m"] = round(load_average, 2)
        runs.setdefault(scenario.name, []).append(row)
        # wrk stops with requests in flight (a login's bcrypt hash runs on in a thread): the
        # next scenario starts once the server has finished them, not while it still works.
        _settle(server)
        if scenario.name in ("template_create", "template_create_crowd"):
            reset_template_creates(database_url, data)
        print(f"  {scenario.name:<18} {load.rps:9.0f} req/s  p99 {load.p99_ms:7.2f} ms"
              f"  load {load_average:.2f}", flush=True)  # fmt: skip
    return {name: _median_row(rows) for name, rows in runs.items()}


def _settle(server: servers.Server, *, quiet: float = 0.02, longest: float = 10.0) -> None:
    """Wait until the server spends under `quiet` of a core for a tenth of a second."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(0.1)
        if server.cpu_seconds() - before < quiet * 0.1:
            return


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per scenario: the median of each figure over the rounds (errors summed), and
    every round's req/s, p99 and load average, so the spread stays visible."""
    if len(rows) == 1:
        return rows[0]
    merged: dict[str, Any] = {}
    for key, value in rows[0].items():
        values = [row[key] for row in rows]
        if key in ("errors", "requests", "ids_exhausted"):
            merged[key] = sum(values)
        elif isinstance(value, int | float):
            merged[key] = round(statistics.median(values), 3)
    merged["rounds"] = [{k: row[k] for k in ("rps", "p99_ms", "load_average_1m")} for row in rows]
    return merged


@contextmanager
def profiling(pid: int, name: str, options: Options) -> Iterator[None]:
    """A py-spy flame graph of the server while the scenario runs, if asked for."""
    if name not in options.profile:
        yield
        return
    suffix = {"flamegraph": "svg", "raw": "txt", "speedscope": "json"}[options.profile_format]
    output = servers.ROOT / "bench" / "profiles" / f"{name}.{suffix}"
    output.parent.mkdir(exist_ok=True)
    seconds = str(round(options.seconds))
    command = [servers.sibling("py-spy"), "record", "-p", str(pid), "-d", seconds, "-r", "250"]
    command += ["--nonblocking", "-f", options.profile_format, "-o", str(output)]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        yield
    finally:
        recorder.wait(timeout=options.seconds + 30)
        print(f"  profile of {name}: {output}")


def _logins_and_probe(options: Options, data: Dataset, url: str) -> dict[str, dict[str, Any]]:
    """The probe GET at light load, alone and then while a stream of logins runs beside it."""
    by_name = {s.name: s for s in scenarios(data)}
    probe, login = by_name[PROBE], by_name["login"]
    idle = _load({"api": url}, probe, data, options.seconds, options.probe_connections)
    before = wrk.children_cpu()
    stream = wrk.start(url + "/", env=login.wrk_env(data), seconds=options.seconds + 2,
                       connections=options.stream_connections)  # fmt: skip
    time.sleep(1)  # let the logins reach their steady state first
    during = _load({"api": url}, probe, data, options.seconds, options.probe_connections)
    logins = wrk.finish(stream, before)
    return {
        "get_idle_light": _row(idle),
        "get_during_logins": _row(during),
        "logins_beside_get": _row(logins),
        **_pages_at_light_load(options, data, url),
    }


def _pages_at_light_load(options: Options, data: Dataset, url: str) -> dict[str, dict[str, Any]]:
    """First and deep page of the 100,000 tasks at the probe's light load. At 32 in flight the
    p99 is mostly queueing behind a saturated worker; this compares what the queries cost."""
    by_name = {s.name: s for s in scenarios(data)}
    return {
        f"{name}_light": _row(
            _load({"api": url}, by_name[name], data, options.seconds, options.probe_connections)
        )
        for name in ("first_page_100k", "deep_page_100k")
    }


def _load(urls: dict[str, str], scenario: Scenario, data: Dataset, seconds: float,
          connections: int) -> wrk.Load:  # fmt: skip
    # The Lua script writes the whole request line, so wrk only needs the server's address.
    url = urls[scenario.server] + "/"
    return wrk.run(url, env=scenario.wrk_env(data), seconds=seconds, connections=connections)


def _row(load: wrk.Load) -> dict[str, Any]:
    row = asdict(load)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}


def _database_ceiling(options: Options, data: Dataset, url: str,
                      results: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    for name, op in dbceiling.operations(data).items():
        measured = asyncio.run(
            dbceiling.measure(url, op, seconds=options.seconds, workers=options.db_workers)
        )
        results[name]["db"] = {k: round(v, 3) for k, v in asdict(measured).items()}
        results[name]["ratio_to_db"] = round(results[name]["rps"] / measured.rps, 3)


def _ratios(results: dict[str, dict[str, Any]]) -> None:
    """Each row over the no-op ceiling; ours over the template for the compared operations."""
    noop = results["noop"]["rps"]
    for row in results.values():
        row["ratio_to_noop"] = round(row["rps"] / noop, 3)
    for ours, template in VERSUS.items():
        if ours in results and template in results:
            results[ours]["ratio_to_template"] = round(
                results[ours]["rps"] / results[template]["rps"], 2
            )


def _load_range(results: dict[str, dict[str, Any]]) -> list[float]:
    seen = [
        r["load_average_1m"]
        for row in results.values()
        for r in row.get("rounds", [row])
        if "load_average_1m" in r
    ]
    return [min(seen), max(seen)] if seen else []


def _cores() -> int:
    return os.cpu_count() or 1
