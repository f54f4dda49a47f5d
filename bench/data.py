"""The data the scenarios run on, written straight into the project's tables in bulk.

One INSERT ... SELECT FROM generate_series per user (no HTTP, no ORM), so 100,000 tasks take
about a second. Users share one bcrypt hash (cost 12, as the API makes them), so logging in
costs what it costs in production. Tokens come from the API's own login route.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import bcrypt
import psycopg
from sqlalchemy.engine import make_url

from todo_core import PageCursor, TaskSort

PASSWORD = "bench-password-1234"  # noqa: S105 - a throwaway account on a throwaway database
SMALL, LARGE, DEEP_OFFSET = 1_000, 100_000, 99_000
SORT = TaskSort.parse("-created_at")  # the API's default order
_ONE_SHOT = ("complete", "delete", "db_complete", "db_delete")

_INSERT_USER = """
INSERT INTO users (id, email, username, password_hash, name, created_at, updated_at)
VALUES (%(id)s, %(email)s, %(name)s, %(hash)s, %(name)s, now(), now())
"""
# Realistic rows: a title, a description, two tags, mixed priorities, distinct creation times.
_INSERT_TASKS = """
INSERT INTO tasks (id, user_id, title, description, priority, tags, created_at, updated_at)
SELECT gen_random_uuid(), %(user)s, 'Task number ' || g,
       'Something to do, written down so that it is not forgotten (' || g || ')',
       (ARRAY['low', 'medium', 'high'])[1 + g %% 3]::task_priority, ARRAY['bench', 'load'],
       now() - make_interval(secs => g), now() - make_interval(secs => g)
FROM generate_series(1, %(count)s) AS g
RETURNING id
"""
_NTH_ROW = """
SELECT created_at, id FROM tasks WHERE user_id = %(user)s
ORDER BY created_at DESC, id DESC OFFSET %(offset)s LIMIT 1
"""


@dataclass
class Dataset:
    """Users by role, their tokens, the id files the wrk script reads, the deep cursor."""

    users: dict[str, uuid.UUID] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    id_files: dict[str, Path] = field(default_factory=dict)
    ids: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    deep_cursor: str = ""

    def email(self, role: str) -> str:
        return f"{role}@bench.example"


def conninfo(database_url: str) -> str:
    """A psycopg connection string from the SQLAlchemy-style DATABASE_URL."""
    url = make_url(database_url)
    return psycopg.conninfo.make_conninfo(
        user=url.username or "",
        password=url.password or "",
        host=str(url.query.get("host") or url.host or ""),
        port=str(url.port or url.query.get("port") or ""),
        dbname=url.database or "",
    )


def prepare(database_url: str, workdir: Path, *, one_shot_ids: int) -> Dataset:
    """Users `small` (1,000 tasks), `large` (100,000), `writer` (creates) and `churn`: ids that
    the complete and delete scenarios, over HTTP and over raw psycopg, each use once."""
    data = Dataset()
    password_hash = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    counts = {"small": SMALL, "large": LARGE, "writer": 0, "churn": len(_ONE_SHOT) * one_shot_ids}
    with psycopg.connect(conninfo(database_url), autocommit=True) as connection:
        for role, count in counts.items():
            data.users[role] = uuid.uuid4()
            values = {"id": data.users[role], "email": data.email(role), "hash": password_hash}
            connection.execute(_INSERT_USER, {**values, "name": role})
            rows = connection.execute(_INSERT_TASKS, {"user": data.users[role], "count": count})
            data.ids[role] = [row[0] for row in rows]
        connection.execute("VACUUM ANALYZE tasks")  # no autovacuum waking mid-measurement
        data.deep_cursor = _cursor_at(connection, data.users["large"], DEEP_OFFSET)
    churn = data.ids.pop("churn")
    for index, name in enumerate(_ONE_SHOT):
        data.ids[name] = churn[index * one_shot_ids : (index + 1) * one_shot_ids]
    for name in ("small", "complete", "delete"):
        data.id_files[name] = workdir / f"{name}-ids.txt"
        data.id_files[name].write_text("".join(f"{task_id}\n" for task_id in data.ids[name]))
    return data


def _cursor_at(connection: psycopg.Connection, user: uuid.UUID, offset: int) -> str:
    row = connection.execute(_NTH_ROW, {"user": user, "offset": offset}).fetchone()
    assert row is not None, "the large user has fewer tasks than the deep offset"
    created_at: datetime = row[0]
    return PageCursor(SORT, created_at.astimezone(UTC), row[1]).encode()


def log_in(base_url: str, email: str) -> str:
    form = urllib.parse.urlencode({"username": email, "password": PASSWORD}).encode()
    request = urllib.request.Request(base_url + "/api/v1/auth/login", data=form, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return str(json.load(answer)["access_token"])
