"""What must never reach a client: stack traces, SQL, driver or ORM names, password hashes.

Shared by the security tests and the schemathesis fuzzing check, so both look for the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Case-insensitive: names that only an exception or a log line would carry.
_INTERNALS = re.compile(
    r"traceback|file \"|psycopg|sqlalchemy|asyncpg|sqlstate|password_hash|\$2[aby]\$\d\d\$",
    re.IGNORECASE,
)
# Upper case only, as a driver message quotes a statement; a task titled "select" is fine.
_SQL = re.compile(r"\b(?:SELECT |INSERT INTO|UPDATE \w+ SET|DELETE FROM|WHERE \w+)")


def leaks(text: str, secrets: Iterable[str] = ()) -> list[str]:
    """Every forbidden thing found in `text` (empty when it is clean)."""
    found = [m.group(0) for m in _INTERNALS.finditer(text)]
    found += [m.group(0) for m in _SQL.finditer(text)]
    found += ["<a configured secret>" for secret in secrets if secret and secret in text]
    return found
