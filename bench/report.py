"""The results: a console table, `bench-results.json` and a PNG chart, plus the targets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import VERSUS

IDLE = "get_idle_light"
ROW = "{:<20} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>9} {:>8} {:>8}"


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    holds: bool


def targets(results: dict[str, dict[str, Any]], peak_rss_mb: float) -> list[Target]:
    """The checks whose scenarios ran (versus mode runs only the no-op and the pairs)."""

    def rps(name: str) -> float:
        return float(results[name]["rps"])

    def p99(name: str) -> float:
        return float(results[name]["p99_ms"])

    noop = rps("noop")
    # (name, scenarios it needs, value, limit, at least)
    checks: list[tuple[str, tuple[str, ...], Any, float, bool]] = [
        ("create >= 15% of no-op req/s", ("create",), lambda: rps("create") / noop, 0.15, True),
        ("list_100 >= 10% of no-op req/s", ("list_100",),
         lambda: rps("list_100") / noop, 0.10, True),
    ]  # fmt: skip
    for ours, template in VERSUS.items():
        pair = (ours, template)
        checks.append((f"{ours} >= 5x template req/s", pair,
                       lambda o=ours, t=template: rps(o) / rps(t), 5.0, True))  # fmt: skip
        checks.append((f"{ours} p99 <= template p99", pair,
                       lambda o=ours, t=template: p99(o) / p99(t), 1.0, False))  # fmt: skip
    checks += [
        (
            "deep page p99 <= 1.5x first page p99 (light load)",
            ("deep_page_100k_light", "first_page_100k_light"),
            lambda: p99("deep_page_100k_light") / p99("first_page_100k_light"),
            1.5,
            False,
        ),
        (
            "deep page p99 <= 1.5x first page p99 (saturated, for reference)",
            ("deep_page_100k", "first_page_100k"),
            lambda: p99("deep_page_100k") / p99("first_page_100k"),
            1.5,
            False,
        ),
        (
            "GET p99 during logins <= 2x idle",
            ("get_during_logins", IDLE),
            lambda: p99("get_during_logins") / p99(IDLE),
            2.0,
            False,
        ),
        ("zero errors", (), lambda: float(sum(r["errors"] for r in results.values())), 0.0,
         False),
        ("peak server RSS <= 150 MB", (), lambda: peak_rss_mb, 150.0, False),
    ]  # fmt: skip
    found = []
    for name, needs, value, limit, at_least in checks:
        if all(n in results for n in needs):
            v = value()
            found.append(Target(name, round(v, 3), limit, v >= limit if at_least else v <= limit))
    return found


def versus(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Ours beside the template, per compared operation: req/s, ratio, p99s; and over no-op."""
    rows = []
    for ours, template in VERSUS.items():
        if ours in results and template in results:
            o, t = results[ours], results[template]
            rows.append({
                "operation": ours, "ours_rps": o["rps"], "template_rps": t["rps"],
                "ratio": round(o["rps"] / t["rps"], 2), "ours_p99_ms": o["p99_ms"],
                "template_p99_ms": t["p99_ms"], "ours_to_noop": o.get("ratio_to_noop"),
                "template_to_noop": t.get("ratio_to_noop"),
            })  # fmt: skip
            base = results.get(f"{ours}@base")
            if base is not None:
                rows[-1].update(base_rps=base["rps"], base_p99_ms=base["p99_ms"],
                                ours_to_base=round(o["rps"] / base["rps"], 3))  # fmt: skip
    return rows


def versus_table(rows: list[dict[str, Any]], noop_rps: float) -> str:
    head = "{:<10} {:>9} {:>9} {:>7} {:>9} {:>9} {:>7} {:>7}".format(
        "op", "ours r/s", "tpl r/s", "ratio", "ours p99", "tpl p99", "ours/noop", "tpl/noop"
    )
    lines = [f"ours beside the template (no-op ceiling {noop_rps:.0f} req/s)", head]
    for r in rows:
        if "base_rps" in r:
            lines.append(
                f"  {r['operation']}@base: {r['base_rps']:.0f} req/s, p99 {r['base_p99_ms']:.2f}"
                f" ms; ours / base {r['ours_to_base']:.2f}"
            )
        lines.append(
            "{:<10} {:>9.0f} {:>9.0f} {:>6.2f}x {:>9.2f} {:>9.2f} {:>7} {:>7}".format(
                r["operation"], r["ours_rps"], r["template_rps"], r["ratio"],
                r["ours_p99_ms"], r["template_p99_ms"],
                _ratio(r["ours_to_noop"]), _ratio(r["template_to_noop"]),
            )
        )  # fmt: skip
    return "\n".join(lines)


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
    pairs = versus(results)
    if pairs:
        lines.append(versus_table(pairs, results["noop"]["rps"]))
        lines.append("")
    lines.append(f"server peak RSS {meta['peak_rss_mb']:.1f} MB; {meta['note']}")
    if meta.get("load_average_1m_range"):
        low, high = meta["load_average_1m_range"]
        lines.append(f"1-minute load average at the start of the runs: {low}-{high}")
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
        "versus_template": versus(results),
        "targets": [t.__dict__ for t in found],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def chart(path: Path, results: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    pairs = versus(results)
    names = [n for n in results if n not in VERSUS.values()]
    api = [results[n]["rps"] for n in names]
    db = [results[n]["db"]["rps"] if results[n].get("db") else 0 for n in names]
    p99 = [results[n]["p99_ms"] for n in names]
    panels = 3 if pairs else 2
    figure, axes = plt.subplots(panels, 1, figsize=(12, 4 * panels))
    top, bottom = axes[0], axes[1]
    positions = range(len(names))
    top.bar([p - 0.2 for p in positions], api, width=0.4, label="API over HTTP")
    top.bar([p + 0.2 for p in positions], db, width=0.4, label="same SQL, raw psycopg")
    top.axhline(results["noop"]["rps"], color="grey", linestyle="--", label="no-op route")
    top.set_ylabel("requests / s")
    top.set_yscale("log")
    top.set_xticks(list(positions), names, rotation=30, ha="right")
    top.legend()
    bottom.bar(list(positions), p99, color="tab:red")
    bottom.set_ylabel("p99 latency (ms)")
    bottom.set_yscale("log")  # login's bcrypt would flatten everything else
    bottom.set_xticks(list(positions), names, rotation=30, ha="right")
    if pairs:
        _versus_panel(axes[2], pairs)
    figure.suptitle("todo API, one uvicorn worker, 2 cores shared with wrk and PostgreSQL")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _versus_panel(axis: Any, pairs: list[dict[str, Any]]) -> None:
    """Ours and the template's req/s per operation, the ratio and both p99s written above."""
    positions = list(range(len(pairs)))
    ours = [r["ours_rps"] for r in pairs]
    template = [r["template_rps"] for r in pairs]
    axis.bar([p - 0.2 for p in positions], ours, width=0.4, label="todo API")
    axis.bar([p + 0.2 for p in positions], template, width=0.4, label="full-stack template")
    for p, r in zip(positions, pairs, strict=True):
        axis.annotate(
            f"{r['ratio']:.1f}x\np99 {r['ours_p99_ms']:.0f} vs {r['template_p99_ms']:.0f} ms",
            (p, max(r["ours_rps"], r["template_rps"])), ha="center", va="bottom", fontsize=8,
        )  # fmt: skip
    axis.set_xticks(positions, [r["operation"] for r in pairs])
    axis.set_ylabel("requests / s")
    axis.margins(y=0.25)
    axis.legend()
