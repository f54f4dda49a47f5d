"""The secret scan CI runs (`nox -s secrets`): detect-secrets over every tracked file, failing
on any finding that is not in the reviewed baseline (`tests/security/secrets.baseline`).

Findings are matched by file and secret hash, not line number, so moving code around never
fails the scan (detect-secrets' own hook rewrites the baseline then and exits non-zero).
Test code states its fake passwords in the open by design, so there the keyword detector
(`password = "..."`) is off; every other detector (keys, tokens, URLs with credentials,
high-entropy strings) still reads it.

To accept a reviewed false positive: `python -m tests.security.secret_scan --update`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BASELINE = Path("tests/security/secrets.baseline")
Findings = dict[str, list[dict[str, object]]]


def _scan(files: list[str], *options: str) -> Findings:
    if not files:
        return {}
    command = ["detect-secrets", "scan", *options, *files]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    results: Findings = json.loads(output)["results"]
    return results


def scan() -> Findings:
    tracked = subprocess.run(
        ["git", "ls-files"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    files = [name for name in tracked if Path(name).is_file() and name != str(BASELINE)]
    tests = [name for name in files if name.startswith("tests/")]
    others = [name for name in files if not name.startswith("tests/")]
    return {**_scan(others), **_scan(tests, "--disable-plugin", "KeywordDetector")}


def _keys(findings: Findings) -> set[tuple[str, object]]:
    return {(name, item["hashed_secret"]) for name, items in findings.items() for item in items}


def main(argv: list[str]) -> int:
    findings = scan()
    if "--update" in argv:
        BASELINE.write_text(json.dumps({"results": findings}, indent=2, sort_keys=True) + "\n")
        print(f"secrets: baseline now holds {len(_keys(findings))} reviewed findings")
        return 0
    known = _keys(json.loads(BASELINE.read_text())["results"])
    new = sorted(
        (name, item["type"], item["line_number"])
        for name, items in findings.items()
        for item in items
        if (name, item["hashed_secret"]) not in known
    )
    for name, kind, line in new:
        print(f"secrets: {name}:{line}: {kind} (not in {BASELINE})")
    print(f"secrets: {len(_keys(findings))} findings, {len(new)} new")
    return 1 if new else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
