"""`python -m bench [--quick] [--versus] [--rounds N] [--database-url URL] [--seconds S]
[--connections C]`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bench import report, wrk
from bench.run import Options, run
from bench.servers import ROOT


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (under 3 minutes)")
    parser.add_argument("--seconds", type=float, help="per scenario (default 3 quick, 10 full)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="a scratch database (it gets migrated and filled); default: embedded PostgreSQL",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra API environment for trials, e.g. DB_POOL_SIZE=15 (repeatable)",
    )
    parser.add_argument(
        "--profile", default="", help="comma-separated scenarios to record with py-spy (SVG)"
    )
    parser.add_argument(
        "--profile-format",
        choices=("flamegraph", "raw", "speedscope"),
        default="flamegraph",
        help="py-spy's output: an SVG, collapsed stacks (.txt) or speedscope JSON",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench-results.json")
    parser.add_argument(
        "--wan",
        default="",
        metavar="RTT_MS,...",
        help="WAN mode (bench/wan.py): the database behind a proxy adding these RTTs, e.g. 10,40",
    )
    parser.add_argument(
        "--versus",
        action="store_true",
        help="only the no-op and ours beside the template (create, get, list_100, update)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run the schedule N times, interleaved; medians"
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's src/: a second API from it runs the compared scenarios "
        "beside ours (`<name>@base`), to measure a change before and after",
    )
    parser.add_argument("--samples", type=int, default=15, help="WAN mode: requests per op")
    args = parser.parse_args()
    if args.wan:
        _wan(args)
        return
    wrk.ensure_wrk()
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    options = Options(
        seconds=seconds,
        warmup=1.0 if args.quick else 2.0,
        connections=args.connections,
        probe_connections=4,
        login_connections=8,
        stream_connections=1,
        db_workers=15,  # what the API's pool may open: pool_size 5 + max_overflow 10
        database_url=args.database_url,
        server_env=dict(item.split("=", 1) for item in args.server_env),
        profile=frozenset(filter(None, args.profile.split(","))),
        profile_format=args.profile_format,
        rounds=args.rounds,
        versus=args.versus,
        baseline_src=args.baseline_src,
    )
    results, meta = run(options)
    found = report.targets(results, meta["peak_rss_mb"])
    print()
    print(report.table(results, found, meta))
    report.write_json(args.output, results, found, meta)
    chart = args.output.with_suffix(".png")
    report.chart(chart, results)
    print(f"\nwrote {args.output} and {chart}")


def _wan(args: argparse.Namespace) -> None:
    from bench import wan

    wrk.ensure_wrk()
    rtts = [float(x) for x in args.wan.split(",")]
    results = wan.run(rtts, samples=args.samples, churn_seconds=args.seconds or 10.0)
    output = args.output if args.output.name != "bench-results.json" else ROOT / "bench-wan.json"
    wan.write(output, results)
    print()
    print(wan.table(results))
    print(f"\nwrote {output} and {output.with_suffix('.png')}")


if __name__ == "__main__":
    main()
