"""The results: a console table, `bench-results.json` and a PNG chart, plus the targets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IDLE = "get_idle_light"
ROW = "{:<20} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>9} {:>8} {:>8}"


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    holds: bool


def targets(results: dict[str, dict[str, Any]], peak_rss_mb: float) -> list[Target]:
    def rps(name: str) -> float:
        return float(results[name]["rps"])

    def p99(name: str) -> float:
        return float(results[name]["p99_ms"])

    noop = rps("noop")
    checks = [
        ("create >= 15% of no-op req/s", rps("create") / noop, 0.15, True),
        ("list_100 >= 10% of no-op req/s", rps("list_100") / noop, 0.10, True),
        (
            "deep page p99 <= 1.5x first page p99 (light load)",
            p99("deep_page_100k_light") / p99("first_page_100k_light"),
            1.5,
            False,
        ),
        (
            "deep page p99 <= 1.5x first page p99 (saturated, for reference)",
            p99("deep_page_100k") / p99("first_page_100k"),
            1.5,
            False,
        ),
        (
            "GET p99 during logins <= 2x idle",
            p99("get_during_logins") / p99(IDLE),
            2.0,
            False,
        ),
        ("zero errors", float(sum(r["errors"] for r in results.values())), 0.0, False),
        ("peak server RSS <= 150 MB", peak_rss_mb, 150.0, False),
    ]
    return [
        Target(name, round(value, 3), limit, value >= limit if at_least else value <= limit)
        for name, value, limit, at_least in checks
    ]


def table(results: dict[str, dict[str, Any]], found: list[Target], meta: dict[str, Any]) -> str:
    head = ROW.format(
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "/noop",
        "/db",
        "db req/s",
        "srv cpu",
        "wrk cpu",
    )
    lines = [head, "-" * len(head)]
    for name, r in results.items():
        lines.append(
            ROW.format(
                name,
                f"{r['rps']:.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                r["errors"],
                _ratio(r.get("ratio_to_noop")),
                _ratio(r.get("ratio_to_db")),
                f"{r['db']['rps']:.0f}" if r.get("db") else "-",
                _cores(r.get("server_cpu")),
                _cores(r.get("wrk_cpu")),
            )
        )
    lines.append("")
    lines.append(f"server peak RSS {meta['peak_rss_mb']:.1f} MB; {meta['note']}")
    lines.extend(
        f"[{'ok' if t.holds else 'MISS'}] {t.name}: {t.value} (limit {t.limit})" for t in found
    )
    return "\n".join(lines)


def _cores(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def write_json(
    path: Path, results: dict[str, Any], found: list[Target], meta: dict[str, Any]
) -> None:
    document = {
        "meta": meta,
        "scenarios": results,
        "targets": [t.__dict__ for t in found],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def chart(path: Path, results: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    names = list(results)
    api = [results[n]["rps"] for n in names]
    db = [results[n]["db"]["rps"] if results[n].get("db") else 0 for n in names]
    p99 = [results[n]["p99_ms"] for n in names]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    positions = range(len(names))
    top.bar([p - 0.2 for p in positions], api, width=0.4, label="API over HTTP")
    top.bar([p + 0.2 for p in positions], db, width=0.4, label="same SQL, raw psycopg")
    top.axhline(results["noop"]["rps"], color="grey", linestyle="--", label="no-op route")
    top.set_ylabel("requests / s")
    top.set_yscale("log")
    top.legend()
    bottom.bar(list(positions), p99, color="tab:red")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_yscale("log")  # login's bcrypt would flatten everything else
    bottom.set_xticks(list(positions), names, rotation=30, ha="right")
    figure.suptitle("todo API, one uvicorn worker, 2 cores shared with wrk and PostgreSQL")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
