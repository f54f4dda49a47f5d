"""WAN mode: the API with the database a network hop away, as on Neon from another region.

`python -m bench --wan 10,40` puts `bench.wire.WireProxy` between the API and PostgreSQL with
half the given RTT added in each direction, then sends each operation one at a time
(concurrency 1, a keep-alive connection) and reports per operation: the median latency, the
latency over the RTT, the round trips the driver made and the statements PostgreSQL executed
(read off the wire by the proxy). Two paths: `direct` and `pooled` (the policy a Neon
`-pooler` URL switches on, forced with DB_POOLED=1: no startup options, no prepared statements,
the statement timeout per transaction; PgBouncer itself adds no round trip the app can see).

Then the session churn: the same proxy without delay counts the PostgreSQL sessions the API
opens while wrk keeps 8 and then 32 requests in flight, at the default pool settings.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench import servers, wrk
from bench.data import Dataset, log_in, prepare
from bench.run import database
from bench.scenarios import Scenario, scenarios
from bench.wire import Tally, WireProxy

OPERATIONS = ("get", "list_100", "create", "patch", "complete", "delete", "health", "login")
PATHS = ("direct", "pooled")
CHURN_SCENARIOS = ("get", "create")
_NUMBERS = count()  # fills `{n}` and picks ids: never the same PATCH twice across runs


@dataclass(frozen=True)
class Sample:
    seconds: float
    tally: Tally


def run(rtts_ms: list[float], *, samples: int, churn_seconds: float) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {"rtt_ms": rtts_ms, "samples": samples, "paths": {}}
    with database(None) as url, tempfile.TemporaryDirectory() as workdir:
        environment = servers.api_environment(url)
        servers.migrate(environment)
        # bcrypt at cost 4: a login's latency is then its round trips (cost 12 costs 250+ ms,
        # which on a shared machine varies by more than a round trip at 40 ms).
        one_shot = samples * len(rtts_ms) * 2 + 10
        data = prepare(url, Path(workdir), one_shot_ids=one_shot, bcrypt_cost=4)
        ids = {name: iter(data.ids[name]) for name in ("complete", "delete")}
        for path in PATHS:
            for rtt in rtts_ms:
                with api_behind_proxy(url, path=path, delay=rtt / 2000) as (base_url, proxy):
                    rows = _operations(base_url, proxy, data, ids, samples, rtt)
                results["paths"].setdefault(path, {})[f"{rtt:g}"] = rows
                _print(path, rtt, rows)
        results["churn"] = _churn(url, data, churn_seconds)
    results["wall_seconds"] = round(time.monotonic() - started, 1)
    return results


@contextmanager
def api_behind_proxy(url: str, *, path: str, delay: float) -> Iterator[tuple[str, WireProxy]]:
    parsed = make_url(url)
    socket = Path(str(parsed.query["host"])) / f".s.PGSQL.{parsed.port}"
    with WireProxy(socket, delay=delay) as proxy:
        proxied = parsed.difference_update_query(["host"]).set(host="127.0.0.1", port=proxy.port)
        proxied = proxied.update_query_dict({"sslmode": "disable"})
        environment = servers.api_environment(proxied.render_as_string(hide_password=False))
        for key in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW"):  # the defaults, as deployed
            environment.pop(key, None)
        if path == "pooled":
            environment["DB_POOLED"] = "1"
        port = servers.free_port()
        with servers.serve(servers.api_command(port), environment, port, "/health") as server:
            yield server.base_url, proxy


def _operations(
    base_url: str, proxy: WireProxy, data: Dataset, ids: dict[str, Iterator[Any]],
    samples: int, rtt: float,
) -> dict[str, Any]:  # fmt: skip
    by_name = {s.name: s for s in scenarios(data)}
    for role in ("small", "writer", "churn"):  # each server signs with its own secret
        data.tokens[role] = log_in(base_url, data.email(role))
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    numbers = _NUMBERS
    rows: dict[str, Any] = {}
    for name in OPERATIONS:
        scenario = by_name[name]
        taken = [_send(connection, proxy, scenario, data, ids, numbers) for _ in range(samples + 1)]
        taken = taken[1:]  # the first one warms this route up
        median = statistics.median(sample.seconds for sample in taken) * 1000
        typical = taken[len(taken) // 2].tally
        rows[name] = {
            "latency_ms": round(median, 2),
            "latency_over_rtt": round(median / rtt, 2),
            "round_trips": statistics.median(s.tally.round_trips for s in taken),
            "statements": [_short(sql) for sql in typical.statements],
            "new_sessions": sum(s.tally.sessions for s in taken),
        }
    connection.close()
    return rows


def _send(
    connection: http.client.HTTPConnection, proxy: WireProxy, scenario: Scenario,
    data: Dataset, ids: dict[str, Iterator[Any]], numbers: Iterator[int],
) -> Sample:  # fmt: skip
    task = next(ids[scenario.ids]) if scenario.once and scenario.ids else None
    if task is None and scenario.ids:
        task = data.ids[scenario.ids][next(numbers) % len(data.ids[scenario.ids])]
    path = scenario.path.replace("{id}", str(task))
    body = (scenario.body or "").replace("{n}", str(next(numbers))).encode() or None
    headers = {"Content-Type": scenario.content_type} if scenario.content_type else {}
    if scenario.user:
        headers["Authorization"] = f"Bearer {data.tokens[scenario.user]}"
    proxy.reset()
    started = time.perf_counter()
    connection.request(scenario.method, path, body=body, headers=headers)
    answer = connection.getresponse()
    answer.read()
    seconds = time.perf_counter() - started
    if answer.status >= 300:
        raise RuntimeError(f"{scenario.name}: HTTP {answer.status}")
    return Sample(seconds, proxy.reset())


def _churn(url: str, data: Dataset, seconds: float) -> dict[str, Any]:
    """New PostgreSQL sessions per 10 s under load, at the default pool settings."""
    rows: dict[str, Any] = {}
    by_name = {s.name: s for s in scenarios(data)}
    for path in PATHS:
        with api_behind_proxy(url, path=path, delay=0.0) as (base_url, proxy):
            for role in ("small", "writer"):
                data.tokens[role] = log_in(base_url, data.email(role))
            for name in CHURN_SCENARIOS:
                for connections in (8, 32):
                    wrk.run(
                        base_url + "/",
                        env=by_name[name].wrk_env(data),
                        seconds=1,
                        connections=connections,
                    )  # fmt: skip  (warm-up)
                    proxy.reset()
                    load = wrk.run(base_url + "/", env=by_name[name].wrk_env(data),
                                   seconds=seconds, connections=connections)  # fmt: skip
                    opened = proxy.reset().sessions
                    key = f"{path}/{name}/c{connections}"
                    rows[key] = {
                        "rps": round(load.rps),
                        "new_sessions_per_10s": round(opened * 10 / seconds, 1),
                    }
                    per_10s = rows[key]["new_sessions_per_10s"]
                    print(f"  churn {key:<22} {load.rps:8.0f} req/s {per_10s:6.1f} sessions/10 s")
    return rows


def _short(sql: str) -> str:
    words = sql.split()
    return " ".join(words[:3]) + (" ..." if len(words) > 3 else "")


def _print(path: str, rtt: float, rows: dict[str, Any]) -> None:
    print(f"\n{path}, RTT {rtt:g} ms")
    for name, row in rows.items():
        print(
            f"  {name:<10} {row['latency_ms']:8.1f} ms  {row['latency_over_rtt']:5.2f} x RTT  "
            f"{row['round_trips']:4.1f} RT  {' | '.join(row['statements'])}"
        )


def table(results: dict[str, Any]) -> str:
    """Markdown: latency / RTT per operation, path and RTT, with the statements seen."""
    rtts = [f"{r:g}" for r in results["rtt_ms"]]
    head = "| op | " + " | ".join(f"{p} {r} ms" for p in PATHS for r in rtts) + " | statements |"
    lines = [head, "|---" * (2 + len(PATHS) * len(rtts)) + "|"]
    for name in OPERATIONS:
        cells = [
            f"{results['paths'][p][r][name]['latency_over_rtt']:.2f}" for p in PATHS for r in rtts
        ]
        shown = " / ".join(
            f"{p}: {', '.join(results['paths'][p][rtts[-1]][name]['statements'])}" for p in PATHS
        )
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {shown} |")
    return "\n".join(lines)


def chart(path: Path, results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [(p, r) for p in PATHS for r in (f"{x:g}" for x in results["rtt_ms"])]
    figure, axis = plt.subplots(figsize=(12, 5))
    width = 0.8 / len(series)
    for index, (p, r) in enumerate(series):
        values = [results["paths"][p][r][name]["latency_over_rtt"] for name in OPERATIONS]
        offsets = [i + (index - len(series) / 2 + 0.5) * width for i in range(len(OPERATIONS))]
        axis.bar(offsets, values, width=width, label=f"{p}, RTT {r} ms")
    axis.axhline(1, color="grey", linestyle="--", label="one round trip")
    axis.axhline(2, color="grey", linestyle=":", label="two round trips")
    axis.set_xticks(range(len(OPERATIONS)), OPERATIONS)
    axis.set_ylabel("median latency / RTT")
    axis.legend()
    figure.suptitle("todo API, database behind a delaying proxy, concurrency 1")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write(output: Path, results: dict[str, Any]) -> None:
    output.write_text(json.dumps(results, indent=2) + "\n")
    chart(output.with_suffix(".png"), results)
