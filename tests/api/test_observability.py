"""What operators see: X-Request-ID on every answer, in problem bodies and in log lines; JSON
access log lines without secrets; Prometheus metrics at /metrics only when configured."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from tests.api.conftest import SignUp, make_settings
from tests.support.servers import todo_serve
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.observability import JsonFormatter, RequestIdFilter
from todo_core.postgres import PostgresDatabase

HEX32 = re.compile(r"[0-9a-f]{32}")
MISSING_TASK = "/api/v1/users/me/tasks/00000000-0000-4000-8000-000000000000"


async def test_every_answer_has_a_request_id(client: httpx.AsyncClient) -> None:
    made = await client.get("/health")
    assert HEX32.fullmatch(made.headers["x-request-id"])
    other = await client.get("/health")
    assert other.headers["x-request-id"] != made.headers["x-request-id"]
    kept = await client.get("/health", headers={"X-Request-ID": "edge-7f3a.42:retry-1"})
    assert kept.headers["x-request-id"] == "edge-7f3a.42:retry-1"


@pytest.mark.parametrize("insane", ["has space", "x" * 129, "<script>", "a\tb", "ü"])
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, insane: str) -> None:
    answer = await client.get("/health", headers={"X-Request-ID": insane.encode("utf-8")})
    assert HEX32.fullmatch(answer.headers["x-request-id"])


async def test_problem_bodies_carry_the_request_id(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    for answer in (
        await client.get(MISSING_TASK, headers=headers),  # a core error
        await client.get("/api/v1/nowhere"),  # the framework's 404
        await client.post("/api/v1/users/me/tasks", headers=headers, json={}),  # 422
        await client.get("/api/v1/users/me", headers={"X-Request-ID": "given-1"}),  # 401
        await client.post("/api/v1/auth/signup", content=b"x" * 2_000_000),  # 413
    ):
        assert answer.status_code >= 400
        assert answer.json()["request_id"] == answer.headers["x-request-id"]
    assert answer.headers["x-request-id"] != "given-1"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything logged during the test, formatted as production formats it."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root, access = logging.getLogger(), logging.getLogger("todo.access")
    root.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        yield sink
    finally:
        root.removeHandler(handler)
        access.setLevel(level)


async def test_access_log_lines_are_json_with_route_and_request_id(
    client: httpx.AsyncClient, sign_up: SignUp, log_lines: io.StringIO
) -> None:
    headers = await sign_up()
    task = await client.post("/api/v1/users/me/tasks", headers=headers, json={"title": "t"})
    secret_query = "/api/v1/users/me/tasks?q=my-secret-search&tag=c2VjcmV0"
    listed = await client.get(secret_query, headers={**headers, "X-Request-ID": "trace-1"})
    assert listed.status_code == 200
    entries = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "todo.access"]
    assert {"time", "level", "message", "request_id", "method", "route", "status"} <= set(
        access[-1]
    )
    last = access[-1]
    assert (last["method"], last["route"], last["status"]) == (
        "GET",
        "/api/v1/users/{user_id}/tasks",
        200,
    )
    assert last["request_id"] == "trace-1"
    assert last["duration_ms"] >= 0
    created = next(e for e in access if e["route"] == "/api/v1/users/{user_id}/tasks")
    assert created["request_id"] == task.headers["x-request-id"]
    # The app's lines only: the test's own HTTP client (httpx) logs the URLs it requests.
    text = "\n".join(json.dumps(e) for e in entries if not e["logger"].startswith("httpx"))
    token = headers["Authorization"].split()[1]
    for secret in ("my-secret-search", "c2VjcmV0", token, "correct horse"):
        assert secret not in text


def test_production_logs_json_lines_only(database_url: URL, tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "ENVIRONMENT": "production",
    }
    with todo_serve(tmp_path, env=env) as server:
        answer = httpx.get(f"{server.base_url}/api/v1/nowhere?token=abc123secret")
        rid = answer.headers["x-request-id"]
        httpx.post(
            f"{server.base_url}/api/v1/auth/login",
            data={"username": "x@y.io", "password": "hunter2-hunter2"},
        )
    lines = [line for line in server.output().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line parses
    access = [e for e in entries if e["logger"] == "todo.access"]
    missing = next(e for e in access if e["request_id"] == rid)
    assert (missing["route"], missing["status"]) == ("<unmatched>", 404)
    assert any(e["route"] == "/api/v1/auth/login" and e["status"] == 401 for e in access)
    assert "abc123secret" not in server.output()
    assert "hunter2" not in server.output()


@pytest.fixture
async def metered(
    database_url: URL, database: PostgresDatabase
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, metrics_enabled=True, metrics_token="scrape-me")
    app = create_app(build_services(Config.of(settings), database=database), settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            got = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_scrape_and_count(metered: httpx.AsyncClient) -> None:
    scrape = {"Authorization": "Bearer scrape-me"}
    assert (await metered.get("/metrics")).status_code == 401
    before = (await metered.get("/metrics", headers=scrape)).text
    for _ in range(3):
        await metered.get("/api/v1/health")
    await metered.get("/api/v1/users/me")  # 401
    after = await metered.get("/metrics", headers=scrape)
    assert after.headers["content-type"].startswith("text/plain")
    route = {"method": "GET", "route": "/api/v1/health", "status": "200"}
    counted = _sample(after.text, "todo_http_requests_total", **route)
    assert counted - _sample(before, "todo_http_requests_total", **route) == 3
    assert _sample(after.text, "todo_http_requests_total", route="/api/v1/users/me", status="401")
    bucket = _sample(after.text, "todo_http_request_duration_seconds_count", route="/api/v1/health")
    assert bucket >= 3
    for gauge in ("todo_db_pool_size", "todo_db_pool_in_use", "todo_db_pool_waiting"):
        assert f"\n{gauge} " in after.text
    assert "todo_db_errors" in after.text
    assert "/metrics" not in (await metered.get("/openapi.json")).text


async def test_no_metrics_unless_configured(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 404
