"""Throughput and latency percentiles from a list of request durations."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Measured:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def summarise(latencies: list[float], seconds: float, errors: int) -> Measured:
    ordered = sorted(latencies)
    return Measured(
        rps=len(ordered) / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(ordered, 0.50) * 1000,
        p99_ms=percentile(ordered, 0.99) * 1000,
        errors=errors,
        requests=len(ordered),
    )
