"""Counts from a schemathesis NDJSON report: requests per phase, statuses, check outcomes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def summarize(report: Path) -> str:
    phases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    checks: Counter[str] = Counter()
    seen: set[str] = set()
    for line in report.read_text().splitlines():
        event = json.loads(line).get("ScenarioFinished")
        if event is None:
            continue
        recorder: dict[str, Any] = event["recorder"]
        for case_id, interaction in recorder.get("interactions", {}).items():
            if case_id in seen:  # shrinking and replays report a case again
                continue
            seen.add(case_id)
            phases[event["phase"]] += 1
            response = interaction.get("response") or {}
            statuses[response.get("status_code", 0)] += 1
            for check in recorder.get("checks", {}).get(case_id, []):
                checks[check["status"]] += 1
    per_phase = ", ".join(f"{name} {count}" for name, count in sorted(phases.items()))
    codes = ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items()))
    outcome = ", ".join(f"{count} {status}" for status, count in sorted(checks.items()))
    return f"{sum(phases.values())} requests ({per_phase}); statuses {{{codes}}}; checks {outcome}"
