"""Known traps: each hostile input gets a clear 4xx problem (never a 5xx) and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import PASSWORD
from tests.security.conftest import Account, Snapshot, assert_problem

Make = Callable[[], Awaitable[Account]]
TASKS = "/api/v1/users/me/tasks"
SIGNUP = "/api/v1/auth/signup"
NUL = "a\x00b"


@pytest.mark.parametrize("field", ["email", "password", "username", "name"])
async def test_nul_in_any_sign_up_field_is_422(
    client: httpx.AsyncClient, snapshot: Snapshot, field: str
) -> None:
    body = {"email": "nul@example.com", "password": PASSWORD, "username": "nully", "name": "N"}
    body[field] = body[field] + "\x00"
    before = await snapshot()
    problem = assert_problem(await client.post(SIGNUP, json=body), 422)
    assert any(error["field"].endswith(field) for error in problem["errors"])
    assert await snapshot() == before


TASK_FIELDS: list[tuple[str, Any]] = [
    ("title", NUL),
    ("description", NUL),
    ("tags", [NUL]),
    ("recurrence", "FREQ=DAILY\x00"),
]


@pytest.mark.parametrize(("field", "value"), TASK_FIELDS)
async def test_nul_in_any_task_field_is_422_on_create_and_patch(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, field: str, value: Any
) -> None:
    user = await account()
    before = await snapshot()
    body = {"title": "t", "due_date": "2999-01-01T00:00:00Z", field: value}
    assert_problem(await client.post(TASKS, json=body, headers=user.headers), 422)
    patch = await client.patch(user.task_url, json={field: value}, headers=user.headers)
    assert_problem(patch, 422)
    assert await snapshot() == before


@pytest.mark.parametrize("param", ["q", "tag", "sort", "cursor"])
async def test_nul_in_list_query_parameters_is_422(
    client: httpx.AsyncClient, account: Make, param: str
) -> None:
    user = await account()
    assert_problem(await client.get(TASKS, params={param: NUL}, headers=user.headers), 422)


@pytest.mark.parametrize("field", ["username", "password"])
async def test_nul_in_the_login_form_is_a_plain_401(client: httpx.AsyncClient, field: str) -> None:
    form = {"username": "someone@example.com", "password": PASSWORD, field: NUL}
    assert_problem(await client.post("/api/v1/auth/login", data=form), 401)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"title": "\\ud800"}',  # a lone high surrogate, as a JSON escape
        b'{"title": "ok", "tags": ["\\udfff"]}',
        b'{"title": "ok", "description": "x\\udc00y"}',
        b'{"title": "\xff\xfe broken utf-8"}',
        b"\xc3\x28",
    ],
)
async def test_invalid_unicode_in_a_json_body_is_422(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, raw: bytes
) -> None:
    user = await account()
    before = await snapshot()
    headers = {**user.headers, "content-type": "application/json"}
    assert_problem(await client.post(TASKS, content=raw, headers=headers), 422)
    assert_problem(await client.patch(user.task_url, content=raw, headers=headers), 422)
    assert await snapshot() == before


async def test_lone_surrogates_in_sign_up_are_422(
    client: httpx.AsyncClient, snapshot: Snapshot
) -> None:
    before = await snapshot()
    raw = b'{"email": "s@example.com", "password": "longenough\\ud800", "name": "\\udfff"}'
    response = await client.post(SIGNUP, content=raw, headers={"content-type": "application/json"})
    problem = assert_problem(response, 422)
    fields = {error["field"].rsplit(".", 1)[-1] for error in problem["errors"]}
    assert fields >= {"password", "name"}
    assert await snapshot() == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x" * 1_000_000},  # a 1 MB title (still under the 1 MiB body limit)
        {"title": "many tags", "tags": [f"t{i}" for i in range(10_000)]},
        {"title": 12345},  # numbers where strings go
        {"title": "t", "description": 1.5},
        {"title": "t", "tags": [1, 2]},
        {"title": "t", "tags": "not-a-list"},
        {"title": "t", "priority": 3},
        {"title": ["t"]},
        {"title": {"$ne": ""}},
        {"title": None},
        {"title": "t", "unknown": "field"},
    ],
)
async def test_oversized_or_mistyped_task_bodies_are_422(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, body: dict[str, Any]
) -> None:
    user = await account()
    before = await snapshot()
    assert_problem(await client.post(TASKS, json=body, headers=user.headers), 422)
    assert await snapshot() == before


@pytest.mark.parametrize(
    "body", [{"email": 1, "password": 2}, {"email": ["a@b.c"], "password": {}}]
)
async def test_numbers_and_objects_where_sign_up_strings_go_are_422(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert_problem(await client.post(SIGNUP, json=body), 422)


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"title": ' + b"[" * 100_000, b"{" * 50_000])
async def test_deeply_nested_json_is_422(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, raw: bytes
) -> None:
    user = await account()
    before = await snapshot()
    headers = {**user.headers, "content-type": "application/json"}
    assert_problem(await client.post(TASKS, content=raw, headers=headers), 422)
    assert_problem(await client.post(SIGNUP, content=raw, headers=headers), 422)
    assert await snapshot() == before


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot
) -> None:
    user = await account()
    before = await snapshot()
    limit = 1_048_576  # the default MAX_BODY_BYTES
    big = b'{"title": "' + b"x" * limit + b'"}'
    headers = {**user.headers, "content-type": "application/json"}
    assert_problem(await client.post(TASKS, content=big, headers=headers), 413)

    async def chunks() -> Any:  # no Content-Length: the limit must count what arrives
        for start in range(0, len(big), 65_536):
            yield big[start : start + 65_536]

    assert_problem(await client.post(TASKS, content=chunks(), headers=headers), 413)
    assert_problem(await client.post(SIGNUP, content=big, headers=headers), 413)
    assert await snapshot() == before


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


MALFORMED_CURSORS = [
    "!!!not-base64!!!",
    "a",
    _b64(b"not json"),
    _b64(b"[1, 2, 3]"),
    _b64(json.dumps({"s": "-created_at"}).encode()),
    _b64(json.dumps({"s": "-created_at", "k": "yesterday", "i": "x"}).encode()),
    _b64(
        json.dumps(
            {"s": "-created_at", "k": 5, "i": "00000000-0000-0000-0000-000000000000"}
        ).encode()
    ),
    _b64(
        json.dumps({"s": "title", "k": "a", "i": "00000000-0000-0000-0000-000000000000"}).encode()
    ),
    _b64(json.dumps({"s": "-created_at", "k": "'; DROP TABLE tasks; --", "i": "1"}).encode()),
    _b64(b"\xff\xfe\x00"),
    _b64(b"[" * 1000),
    "A" * 5000,
]


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS)
async def test_malformed_cursors_are_422(
    client: httpx.AsyncClient, account: Make, cursor: str
) -> None:
    user = await account()
    assert_problem(await client.get(TASKS, params={"cursor": cursor}, headers=user.headers), 422)


BAD_IDS = [
    "not-a-uuid",
    "1",
    "' OR 1=1 --",
    "00000000-0000-0000-0000-00000000000g",
    "%00",
    "..%2F..",
]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_invalid_ids_in_paths_are_422_or_404(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, bad: str
) -> None:
    user = await account()
    before = await snapshot()
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"{TASKS}/{bad}", json={"title": "x"}, headers=user.headers
        )
        assert_problem(response)
        response = await client.request(
            method, f"/api/v1/users/{bad}/tasks/{user.task['id']}", json={}, headers=user.headers
        )
        assert_problem(response)
    assert await snapshot() == before


async def test_unknown_query_parameters_are_ignored(
    client: httpx.AsyncClient, account: Make
) -> None:
    user = await account()
    params = {"foo": "bar", "__proto__": "x", "limit[$gt]": "1", "user_id": "someone-else"}
    response = await client.get(TASKS, params=params, headers=user.headers)
    assert response.status_code == 200
    assert [task["id"] for task in response.json()["items"]] == [user.task["id"]]


INJECTIONS = [
    "'; DROP TABLE tasks; --",
    "1' OR '1'='1",
    'Robert"); DELETE FROM users; --',
    "%' UNION SELECT password_hash FROM users --",
]


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_sql_injection_strings_are_stored_and_returned_literally(
    client: httpx.AsyncClient, account: Make, snapshot: Snapshot, payload: str
) -> None:
    user, other = await account(), await account()
    created = await client.post(
        TASKS, json={"title": payload, "description": payload}, headers=user.headers
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["title"], task["description"]) == (payload, payload)
    fetched = await client.get(f"{TASKS}/{task['id']}", headers=user.headers)
    assert fetched.json()["title"] == payload
    found = await client.get(TASKS, params={"q": payload}, headers=user.headers)
    assert [item["id"] for item in found.json()["items"]] == [task["id"]]
    # A search that is an injection only finds what literally contains it, and only one's own.
    theirs = await client.get(TASKS, params={"q": payload}, headers=other.headers)
    assert theirs.json()["items"] == []
    users, tasks = await snapshot()  # both tables are still there, with every row
    assert len(users) == 2 and len(tasks) == 3


@pytest.mark.parametrize("payload", ["'or'1'='1", "a';--", "%", "_", "\\"])
async def test_injection_and_wildcards_in_tags_and_search_match_literally(
    client: httpx.AsyncClient, account: Make, payload: str
) -> None:
    user = await account()
    response = await client.get(TASKS, params={"tag": payload}, headers=user.headers)
    assert response.status_code == 200
    assert response.json()["items"] == []
    response = await client.get(TASKS, params={"q": payload}, headers=user.headers)
    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_injection_in_the_login_form_is_a_plain_401(client: httpx.AsyncClient) -> None:
    form = {"username": "' OR 1=1 --", "password": "' OR '1'='1"}
    assert_problem(await client.post("/api/v1/auth/login", data=form), 401)


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "text/plain"]
)
async def test_a_login_body_that_cannot_be_parsed_is_422(
    client: httpx.AsyncClient, content_type: str
) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b"username=a&password=b",
        headers={"content-type": content_type},
    )
    assert_problem(response, 422)
