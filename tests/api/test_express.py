"""The express lane (todo_api.express) answers the task routes' plainest requests without
FastAPI's per-request machinery. Each of its answers must be the one the FastAPI route gives,
and every other request must reach FastAPI untouched (a body already read, replayed).

Two apps share one database here: the app as served, and the same app without the lane."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.api.conftest import Headers, SignUp
from todo_api import deps
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.express import ExpressLane
from todo_api.idempotency import fingerprint_route
from todo_api.routes import tasks as tasks_routes
from todo_api.settings import Settings
from todo_core import AuthenticationFailed
from todo_core.postgres import PostgresDatabase

TASKS = "/api/v1/users/me/tasks"
COMPAT = "/api/me/tasks"  # the compatibility surface
Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keywords


def _lane(app: FastAPI) -> ExpressLane:
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while not isinstance(layer, ExpressLane):
        layer = layer.app
    return layer


@pytest.fixture
def passed_on(app: FastAPI) -> list[str]:
    """The requests the lane handed on to FastAPI, as "METHOD path"."""
    lane = _lane(app)
    inner, seen = lane.app, []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"{scope['method']} {scope['path']}")
        await inner(scope, receive, send)

    lane.app = recording
    return seen


@pytest.fixture
async def plain(settings: Settings, database: PostgresDatabase) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the same app without the lane: FastAPI answers everything."""
    app = create_app(build_services(Config.of(settings), database=database), settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not ExpressLane]
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body, but for the request's own id (in a header, and in a problem)."""
    request_id = response.headers["x-request-id"]
    headers = [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]
    content = response.content.replace(request_id.encode(), b"*")
    return response.status_code, headers, content


async def _both(
    client: httpx.AsyncClient, plain: httpx.AsyncClient, request: Request
) -> tuple[httpx.Response, httpx.Response]:
    method, path, keywords = request
    return (
        await client.request(method, path, **keywords),
        await plain.request(method, path, **keywords),
    )


async def _task(client: httpx.AsyncClient, auth: Headers, **fields: Any) -> dict[str, Any]:
    response = await client.post(TASKS, headers=auth, json={"title": "a task", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_plain_task_requests_never_reach_fastapi(
    client: httpx.AsyncClient, sign_up: SignUp, passed_on: list[str]
) -> None:
    auth = await sign_up()
    passed_on.clear()
    task = await _task(client, auth, description="d", priority="high", tags=["a"])
    url = f"{TASKS}/{task['id']}"
    second = await _task(client, auth)

    got = await client.get(url, headers=auth)
    assert (got.status_code, got.headers["etag"]) == (200, '"v1"')
    page = await client.get(f"{TASKS}?limit=1&sort=title", headers=auth)
    assert page.status_code == 200 and len(page.json()["items"]) == 1
    assert 'rel="next"' in page.headers["link"]
    cursor = page.json()["next_cursor"]
    rest = await client.get(
        TASKS, params={"limit": 1, "sort": "title", "cursor": cursor}, headers=auth
    )
    assert rest.status_code == 200 and len(rest.json()["items"]) == 1
    patched = await client.patch(url, headers={**auth, "If-Match": '"v1"'}, json={"title": "b"})
    assert (patched.status_code, patched.json()["title"]) == (200, "b")
    other_user = await client.patch(
        f"/api/v1/users/{task['user_id']}/tasks/{second['id']}",
        headers=auth,
        json={"completed": True},
    )
    assert other_user.status_code == 200
    deleted = await client.delete(url, headers={**auth, "If-Match": '"v2"'})
    assert deleted.status_code == 204
    assert (await client.get(url, headers=auth)).status_code == 404

    assert passed_on == []


async def test_the_plain_compatibility_requests_never_reach_fastapi(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    passed_on: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    auth = await sign_up()
    passed_on.clear()
    caplog.set_level(logging.INFO, logger="todo.access")
    created = await client.post(COMPAT, headers=auth, json={"title": "a", "priority": "low"})
    assert created.status_code == 201
    url = f"{COMPAT}/{created.json()['id']}"
    await _task(client, auth)
    assert (await client.get(url, headers=auth)).json()["title"] == "a"
    page = await client.get(f"{COMPAT}?limit=1", headers=auth)
    assert len(page.json()) == 1 and 'rel="next"' in page.headers["link"]
    put = await client.put(url, headers={**auth, "If-Match": '"v1"'}, json={"title": "b"})
    assert (put.status_code, put.json()["title"], put.json()["priority"]) == (200, "b", "medium")
    toggled = await client.patch(f"{url}/complete", headers=auth)
    assert (toggled.status_code, toggled.json()["completed"]) == (200, True)
    assert (await client.delete(url, headers={**auth, "If-Match": '"v3"'})).status_code == 204
    assert passed_on == []
    # logged and counted under the route templates FastAPI would name
    routes = {(r.method, r.route) for r in caplog.records if r.name == "todo.access"}  # type: ignore[attr-defined]
    assert routes >= {
        ("POST", "/api/{user_id}/tasks"),
        ("GET", "/api/{user_id}/tasks"),
        ("GET", "/api/{user_id}/tasks/{id}"),
        ("PUT", "/api/{user_id}/tasks/{id}"),
        ("PATCH", "/api/{user_id}/tasks/{id}/complete"),
        ("DELETE", "/api/{user_id}/tasks/{id}"),
        ("POST", "/api/v1/users/{user_id}/tasks"),
    }


async def test_other_requests_reach_fastapi(
    client: httpx.AsyncClient, sign_up: SignUp, passed_on: list[str]
) -> None:
    auth = await sign_up()
    task = await _task(client, auth)
    url = f"{TASKS}/{task['id']}"
    passed_on.clear()
    declined: list[Request] = [
        ("POST", TASKS, {"headers": {**auth, "Idempotency-Key": "a b"}, "json": {"title": "t"}}),
        ("DELETE", url, {"headers": {**auth, "Idempotency-Key": "k" * 256}}),
        ("GET", url, {"headers": {"Authorization": auth["Authorization"].lower()}}),
        ("GET", url, {}),
        ("GET", url.replace("-", ""), {"headers": auth}),
        ("GET", f"{TASKS}?completed=true", {"headers": auth}),
        ("GET", f"{TASKS}?limit=101", {"headers": auth}),
        ("GET", f"{TASKS}?limit=1&limit=2", {"headers": auth}),
        ("HEAD", url, {"headers": auth}),
        ("POST", TASKS, {"headers": auth, "content": b'{"title": "t"}'}),  # no content type
        ("PATCH", url, {"headers": auth, "json": {"title": "t", "extra": 1}}),
        ("PUT", f"{COMPAT}/{task['id']}", {"headers": auth, "json": {"title": 7}}),
        ("GET", f"{COMPAT}?tag=x", {"headers": auth}),
        ("PATCH", f"{COMPAT}/{task['id']}", {"headers": auth, "json": {"title": "t"}}),  # 405
    ]
    for method, path, keywords in declined:
        await client.request(method, path, **keywords)
    assert passed_on == [f"{method} {path.split('?')[0]}" for method, path, _ in declined]


async def test_keyed_writes_are_served_and_replayed_across_both_paths(
    client: httpx.AsyncClient,
    plain: httpx.AsyncClient,
    sign_up: SignUp,
    passed_on: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write with an Idempotency-Key answered by the lane replays through FastAPI and the
    other way round: both name the same fingerprint, which is the one kept before the lane
    served keyed writes (FastAPI's route object's path), so a retry spanning a deploy matches."""
    auth = await sign_up()
    task = await _task(client, auth)
    url = f"{TASKS}/{task['id']}"
    routes_named: list[tuple[str, str]] = []
    keyed = tasks_routes.keyed

    def recording(key: str | None, request: Any, **keywords: Any) -> Any:
        if "route" in request.scope:  # FastAPI's path: what the fingerprint named until now
            routes_named.append((request.scope["route"].path, fingerprint_route(request.scope)))
        return keyed(key, request, **keywords)

    monkeypatch.setattr(tasks_routes, "keyed", recording)
    passed_on.clear()
    for first, then, method, path, body in (
        (client, plain, "POST", TASKS, {"title": "once"}),
        (plain, client, "POST", TASKS, {"title": "once more"}),
        (client, plain, "PATCH", url, {"title": "renamed"}),
        (plain, client, "DELETE", url, None),
    ):
        headers = {**auth, "Idempotency-Key": f"{method}-{id(first)}"}
        original = await first.request(method, path, headers=headers, json=body)
        replayed = await then.request(method, path, headers=headers, json=body)
        assert original.status_code < 300, original.text
        assert replayed.headers["idempotent-replayed"] == "true"
        status, answer_headers, content = _answer(replayed)
        kept = [(k, v) for k, v in answer_headers if k != "idempotent-replayed"]
        assert (status, kept, content) == _answer(original)
        if method == "POST":  # the same key with another request: 422 on both paths
            other = {"title": "something else"}
            refused = await _both(
                client, plain, (method, path, {"headers": headers, "json": other})
            )
            assert [r.status_code for r in refused] == [422, 422]
            assert _answer(refused[0]) == _answer(refused[1])
    assert passed_on == []
    assert routes_named and all(old == new for old, new in routes_named), routes_named


async def test_overridden_dependencies_are_honoured(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp, passed_on: list[str]
) -> None:
    auth = await sign_up()
    passed_on.clear()

    async def nobody() -> None:
        raise AuthenticationFailed("overridden")

    app.dependency_overrides[deps._caller] = nobody
    try:
        answer = await client.get(TASKS, headers=auth)
    finally:
        app.dependency_overrides.clear()
    assert (answer.status_code, passed_on) == (401, [f"GET {TASKS}"])


async def test_requests_fastapis_telemetry_observes_are_fastapis(
    client: httpx.AsyncClient,
    sign_up: SignUp,
    passed_on: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With OpenTelemetry configured, FastAPI's native telemetry names each request's span
    after its route and adds the endpoint's span; both come from FastAPI's routing, so the
    lane steps aside: the traces and metrics a user set up see every request."""
    auth = await sign_up()
    task = await _task(client, auth)
    url = f"{TASKS}/{task['id']}"
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    # As `opentelemetry-instrument` or the app's own start-up would: a global provider.
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    passed_on.clear()

    got = await client.get(url, headers=auth)
    patched = await client.patch(url, headers=auth, json={"title": "traced"})
    made = await client.post(TASKS, headers=auth, json={"title": "traced too"})

    assert (got.status_code, patched.status_code, made.status_code) == (200, 200, 201)
    assert passed_on == [f"GET {url}", f"PATCH {url}", f"POST {TASKS}"]
    servers = [s for s in exported.get_finished_spans() if s.kind is trace.SpanKind.SERVER]
    one = "/api/v1/users/{user_id}/tasks/{task_id}"
    routes = [(s.name, (s.attributes or {}).get("http.route")) for s in servers]
    assert routes == [
        (f"GET {one}", one),
        (f"PATCH {one}", one),
        ("POST /api/v1/users/{user_id}/tasks", "/api/v1/users/{user_id}/tasks"),
    ]
    endpoints = [s for s in exported.get_finished_spans() if s.name == "fastapi.endpoint"]
    assert len(endpoints) == 3

    monkeypatch.undo()
    passed_on.clear()
    assert (await client.get(url, headers=auth)).status_code == 200
    assert passed_on == []  # unobserved, the lane answers again


async def test_its_answers_are_fastapis(
    client: httpx.AsyncClient, plain: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    stranger = await sign_up()
    await _task(client, auth, title="b", due_date="2099-01-01T00:00:00Z", recurrence="FREQ=DAILY")
    task = await _task(client, auth, title="a", tags=["x", "y"])
    url = f"{TASKS}/{task['id']}"
    missing = f"{TASKS}/00000000-0000-4000-8000-000000000000"
    reads: list[Request] = [
        ("GET", url, {"headers": auth}),
        ("GET", f"{TASKS}/{task['id'].upper()}", {"headers": auth}),
        ("GET", f"/api/v1/users/{task['user_id']}/tasks/{task['id']}", {"headers": auth}),
        ("GET", url, {"headers": stranger}),
        ("GET", missing, {"headers": auth}),
        ("GET", url, {"headers": {"Authorization": "Bearer not-a-token"}}),
        ("GET", TASKS, {"headers": auth}),
        ("GET", f"{TASKS}?limit=1", {"headers": auth}),
        ("GET", f"{TASKS}?limit=1&sort=-title&unknown=", {"headers": auth}),
        ("GET", f"{TASKS}?sort=colour", {"headers": auth}),
        ("GET", f"{TASKS}?limit=0100", {"headers": auth}),  # read by the route's own declaration
        ("GET", f"{TASKS}?limit=0", {"headers": auth}),
        ("GET", f"{TASKS}?cursor=not-a-cursor", {"headers": auth}),
        ("GET", f"/api/v1/users/{task['user_id']}/tasks", {"headers": stranger}),
        ("PATCH", missing, {"headers": auth, "json": {"title": "t"}}),
        ("PATCH", url, {"headers": {**auth, "If-Match": '"v9"'}, "json": {"title": "t"}}),
        ("PATCH", url, {"headers": {**auth, "If-Match": "nonsense"}, "json": {"title": "t"}}),
        ("PATCH", url, {"headers": auth, "json": {"title": None}}),
        ("PATCH", url, {"headers": auth, "json": {"title": ""}}),
        ("PATCH", url, {"headers": {**auth, "Content-Type": "application/json"}, "content": b"{"}),
        ("PATCH", url, {"headers": stranger, "json": {"title": "t"}}),
        ("DELETE", url, {"headers": {**auth, "If-Match": '"v9"'}}),
        ("DELETE", missing, {"headers": auth}),
        (
            "POST",
            TASKS,
            {"headers": auth, "json": {"title": "t", "due_date": "2001-01-01T00:00:00Z"}},
        ),
        ("POST", TASKS, {"headers": auth, "json": {"title": "t", "recurrence": "FREQ=DAILY"}}),
        ("POST", TASKS, {"headers": auth, "json": ["not", "an", "object"]}),
        ("GET", COMPAT, {"headers": auth}),
        ("GET", f"{COMPAT}?limit=1&sort=title", {"headers": auth}),
        ("GET", f"/api/{task['user_id']}/tasks/{task['id']}", {"headers": auth}),
        ("GET", f"{COMPAT}/{task['id']}", {"headers": stranger}),
        ("GET", missing.replace(TASKS, COMPAT), {"headers": auth}),
        ("GET", f"{COMPAT}?cursor=nope", {"headers": auth}),
        (
            "PUT",
            f"{COMPAT}/{task['id']}",
            {"headers": {**auth, "If-Match": '"v9"'}, "json": {"title": "t"}},
        ),
        ("PUT", missing.replace(TASKS, COMPAT), {"headers": auth, "json": {"title": "t"}}),
        ("PATCH", f"{missing.replace(TASKS, COMPAT)}/complete", {"headers": auth}),
        ("PATCH", f"{COMPAT}/{task['id']}/complete", {"headers": {**auth, "If-Match": '"v9"'}}),
        ("DELETE", missing.replace(TASKS, COMPAT), {"headers": auth}),
        (
            "POST",
            COMPAT,
            {"headers": auth, "json": {"title": "t", "due_date": "2001-01-01T00:00:00Z"}},
        ),
    ]
    for request in reads:
        ours, theirs = await _both(client, plain, request)
        assert _answer(ours) == _answer(theirs), request


async def test_its_writes_are_fastapis(
    client: httpx.AsyncClient, plain: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    fields = {
        "title": "t",
        "tags": ["a"],
        "due_date": "2099-01-01T00:00:00Z",
        "recurrence": "FREQ=WEEKLY",
    }
    created = await _both(client, plain, ("POST", TASKS, {"headers": auth, "json": fields}))
    ids = [response.json()["id"] for response in created]
    assert _normalised(created[0], ids[0]) == _normalised(created[1], ids[1])

    for keywords in (
        {"json": {"title": "u", "priority": "low"}},
        {"json": {"completed": True}, "headers": {"If-Match": '"v2"'}},  # with its follow-up
    ):
        headers = {**auth, **keywords.pop("headers", {})}
        answers = [
            await c.patch(f"{TASKS}/{i}", headers=headers, **keywords)
            for c, i in zip((client, plain), ids, strict=True)
        ]
        assert _normalised(answers[0], ids[0]) == _normalised(answers[1], ids[1])

    for method, tail, keywords in (
        (
            "PUT",
            "",
            {
                "json": {
                    "title": "v",
                    "due_date": "2099-02-01T00:00:00Z",
                    "recurrence": "FREQ=DAILY",
                }
            },
        ),
        ("PATCH", "/complete", {}),  # completes, with the next occurrence
        ("PATCH", "/complete", {}),  # reopens
    ):
        answers = [
            await c.request(method, f"/api/me/tasks/{i}{tail}", headers=auth, **keywords)
            for c, i in zip((client, plain), ids, strict=True)
        ]
        assert _normalised(answers[0], ids[0]) == _normalised(answers[1], ids[1])
    made = await _both(client, plain, ("POST", COMPAT, {"headers": auth, "json": fields}))
    compat_ids = [response.json()["id"] for response in made]
    assert _normalised(made[0], compat_ids[0]) == _normalised(made[1], compat_ids[1])
    dropped = [
        await c.delete(f"{COMPAT}/{i}", headers=auth)
        for c, i in zip((client, plain), compat_ids, strict=True)
    ]
    assert _answer(dropped[0]) == _answer(dropped[1])

    gone = [
        await c.delete(f"{TASKS}/{i}", headers=auth)
        for c, i in zip((client, plain), ids, strict=True)
    ]
    assert _answer(gone[0]) == _answer(gone[1])


def _normalised(response: httpx.Response, task_id: str) -> tuple[int, list[tuple[str, str]], Any]:
    """The answer with what differs between two tasks (ids, times) blanked."""
    status, headers, content = _answer(response)
    body = json.loads(content)

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: "*" if k in {"id", "created_at", "updated_at", "completed_at"} else blank(v)
                for k, v in value.items()
            }
        return value

    follow_up = (body.get("next_occurrence") or {}).get("id", "-")
    headers = [(k, v.replace(task_id, "*").replace(follow_up, "*")) for k, v in headers]
    return status, headers, blank(body)


async def test_a_body_in_pieces_is_read_whole_and_replayed_whole(
    app: FastAPI, sign_up: SignUp, passed_on: list[str]
) -> None:
    auth = await sign_up()
    for body, status, served in (
        (b'{"title": "in two pieces"}', 201, True),
        (b'{"title": "in two pieces", "nope": 1}', 422, False),
    ):
        passed_on.clear()
        answer = await _raw(app, "POST", TASKS, auth, [body[:7], body[7:]])
        assert answer["status"] == status, answer
        assert passed_on == ([] if served else [f"POST {TASKS}"])
    assert b"nope" in answer["body"]


async def _raw(
    app: FastAPI, method: str, path: str, auth: Headers, pieces: list[bytes]
) -> dict[str, Any]:
    """One request straight through ASGI, its body sent in the pieces given."""
    messages = [
        {"type": "http.request", "body": p, "more_body": i < len(pieces) - 1}
        for i, p in enumerate(pieces)
    ]
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    headers += [(k.lower().encode(), v.encode()) for k, v in auth.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    answer: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)
    return answer
