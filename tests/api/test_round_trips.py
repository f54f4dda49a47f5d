"""Round trips per request, counted on the wire (bench.wire's proxy between the app and
PostgreSQL), on the direct path and on the pooled one (the policy a Neon `-pooler` URL turns on:
no startup options, no prepared statements, the statement timeout per transaction).

On Neon a request's latency is round trips x RTT, so the counts are pinned: a change that adds
one fails here, naming the operation. Requests follow one another a moment apart, at the
default pool settings, on a warm pool: none may open a new session either.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from bench.wire import Tally, WireProxy
from sqlalchemy import text
from sqlalchemy.engine import URL

from tests.api.conftest import PASSWORD, make_settings
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_core.postgres.database import PostgresDatabase
from todo_core.postgres.engine import EngineOptions

TASKS = "/api/v1/users/me/tasks"

# operation: (direct path, pooled path), each "<round trips>/<statements executed>"
EXPECTED: dict[str, tuple[str, str]] = {
    # signup: the user and the first email-verification token, one transaction
    "signup": ("1/4", "1/5"),
    # login: one statement reads the login throttle's shared state and the user, and starts
    # the session speculatively (its refresh token is handed out only if bcrypt, after it,
    # verifies the password)
    "login": ("1/1", "1/4"),
    # a failed login: the same statement, then one that drops the session and records the
    # failure in the throttle; an unknown user costs the same (nothing to tell them apart)
    "login_wrong_password": ("2/2", "2/8"),
    "login_unknown_user": ("2/2", "2/8"),
    # a success after failures: the login, then its account's failures forgotten
    "login_after_failure": ("2/2", "2/8"),
    "health": ("1/1", "1/4"),
    "create": ("1/1", "1/4"),
    # one task read: the actor's check in the same statement as the task
    "get": ("1/1", "1/4"),
    # other reads: the check pipelined before the statement
    "list": ("1/2", "1/5"),
    "update": ("2/2", "2/8"),
    "complete_recurring": ("2/2", "2/8"),
    "delete": ("1/1", "1/4"),
    "delete_if_match": ("1/1", "1/4"),
    "get_missing": ("1/1", "1/4"),
    # Sync (issue 14): the change record is the triggers' work, so the writes above pay nothing
    # for it; a key's claim and save ride in the write's own round trips (statements +2). A
    # replay is not pinned (the rare path: the claim's refusal, then the stored answer, 3 round
    # trips). A batch of three operations on a task it creates is one round trip.
    "create_keyed": ("1/5", "1/6"),
    "update_keyed": ("2/7", "2/11"),
    "delete_keyed": ("1/5", "1/6"),
    "feed_poll": ("1/2", "1/5"),
    "batch_3": ("1/5", "1/6"),
}


@dataclass
class Witnessed:
    client: httpx.AsyncClient
    proxy: WireProxy

    async def send(self, method: str, path: str, **kwargs: object) -> tuple[httpx.Response, Tally]:
        self.proxy.reset()
        response = await self.client.request(method, path, **kwargs)  # type: ignore[arg-type]
        return response, self.proxy.reset()


def _upstream(url: URL) -> tuple[str, int] | Path:
    socket_dir = url.query.get("host")
    if socket_dir:
        return Path(str(socket_dir)) / f".s.PGSQL.{url.port or 5432}"
    return (url.host or "127.0.0.1", url.port or 5432)


@pytest.fixture(params=["direct", "pooled"])
async def witnessed(request: pytest.FixtureRequest, database_url: URL) -> AsyncIterator[Witnessed]:
    if str(database_url.query.get("sslmode", "")) not in ("", "disable", "allow", "prefer"):
        pytest.skip("the wire proxy reads plain-text PostgreSQL only")
    pooled = request.param == "pooled"
    with WireProxy(_upstream(database_url)) as proxy:
        url = database_url.difference_update_query(["host"]).set(host="127.0.0.1", port=proxy.port)
        url = url.update_query_dict({"sslmode": "disable"})
        database = PostgresDatabase.from_url(url, EngineOptions(pooled=pooled))  # pool defaults
        settings = make_settings(url)
        app = create_app(build_services(Config.of(settings), database=database), settings)
        try:
            async with LifespanManager(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    yield Witnessed(client, proxy)
        finally:
            async with database.engine.begin() as connection:  # tests leave the database empty
                await connection.execute(text("TRUNCATE users, tasks CASCADE"))
            await database.dispose()


async def _measure(w: Witnessed) -> dict[str, Tally]:
    seen: dict[str, Tally] = {}

    async def call(name: str, method: str, path: str, status: int, **kw: object) -> httpx.Response:
        response, tally = await w.send(method, path, **kw)
        assert response.status_code == status, (name, response.text)
        seen[name] = tally
        return response

    email = f"round.trips.{uuid.uuid4().hex[:8]}@example.com"
    await call("signup", "POST", "/api/v1/auth/signup", 201,
               json={"email": email, "password": PASSWORD})  # fmt: skip
    login = await call("login", "POST", "/api/v1/auth/login", 200,
                       data={"username": email, "password": PASSWORD})  # fmt: skip
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    await call("health", "GET", "/health", 200)
    created = await call("create", "POST", TASKS, 201, json={"title": "Count me"}, headers=auth)
    task = f"{TASKS}/{created.json()['id']}"
    await call("get", "GET", task, 200, headers=auth)
    await call("list", "GET", f"{TASKS}?limit=100", 200, headers=auth)
    await call("update", "PATCH", task, 200, json={"title": "Counted"}, headers=auth)
    daily = {"title": "Daily", "recurrence": "FREQ=DAILY", "due_date": "2099-01-01T09:00:00Z"}
    recurring = await w.client.post(TASKS, json=daily, headers=auth)
    assert recurring.status_code == 201, recurring.text
    await call("complete_recurring", "PATCH", f"{TASKS}/{recurring.json()['id']}", 200,
               json={"completed": True}, headers=auth)  # fmt: skip
    await call("delete", "DELETE", task, 204, headers=auth)
    again = await w.client.post(TASKS, json={"title": "Versioned"}, headers=auth)
    etag = again.headers["ETag"]
    await call("delete_if_match", "DELETE", f"{TASKS}/{again.json()['id']}", 204,
               headers={**auth, "If-Match": etag})  # fmt: skip
    await call("get_missing", "GET", task, 404, headers=auth)
    keyed = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    made = await call("create_keyed", "POST", TASKS, 201, json={"title": "Once"}, headers=keyed)
    replayed = await w.client.post(TASKS, json={"title": "Once"}, headers=keyed)
    assert replayed.headers["Idempotent-Replayed"] == "true", replayed.text
    url = made.headers["Location"]
    await call("update_keyed", "PATCH", url, 200, json={"title": "Twice"},
               headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    await call("delete_keyed", "DELETE", url, 204,
               headers={**auth, "Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
    await call("feed_poll", "GET", "/api/v1/users/me/changes", 200, headers=auth)
    ops = [{"op": "create", "ref": "a", "data": {"title": "B"}}, {"op": "complete", "ref": "a"},
           {"op": "delete", "ref": "a"}]  # fmt: skip
    await call("batch_3", "POST", f"{TASKS}/batch", 200, json={"operations": ops}, headers=auth)
    await call("login_wrong_password", "POST", "/api/v1/auth/login", 401,
               data={"username": email, "password": "not the password"})  # fmt: skip
    await call("login_unknown_user", "POST", "/api/v1/auth/login", 401,
               data={"username": f"x{email}", "password": PASSWORD})  # fmt: skip
    await call("login_after_failure", "POST", "/api/v1/auth/login", 200,
               data={"username": email, "password": PASSWORD})  # fmt: skip
    return seen


def _short(sql: str) -> str:
    words = sql.split()
    return " ".join(words[:2]) + (" ..." if len(words) > 2 else "")


async def test_round_trips_per_request(
    witnessed: Witnessed, request: pytest.FixtureRequest
) -> None:
    await witnessed.send("GET", "/health")  # a warm pool: one session, already open
    seen = await _measure(witnessed)
    column = 0 if "direct" in request.node.callspec.id else 1
    found = {name: f"{t.round_trips}/{len(t.statements)}" for name, t in seen.items()}
    expected = {name: counts[column] for name, counts in EXPECTED.items()}
    report = "\n".join(
        f"{name}: {tally.round_trips} round trips, {tally.sessions} new sessions: "
        + " | ".join(_short(sql) for sql in tally.statements)
        for name, tally in seen.items()
    )
    assert found == expected, f"round trips per operation changed:\n{report}"
    assert {name: tally.sessions for name, tally in seen.items() if tally.sessions} == {}, report
