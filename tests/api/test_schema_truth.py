"""The OpenAPI document tells the truth about one-field rules: what it calls valid is accepted,
and the requests the issue found refused (blank title, 5-character password, null title in a
PATCH) are invalid by the schema too, so generated clients and forms refuse them first."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.conftest import SignUp

TASKS = "/api/v1/users/me/tasks"


async def _schemas(client: httpx.AsyncClient) -> dict[str, Any]:
    spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    return spec["components"]["schemas"]


def _valid(schema: dict[str, Any], value: str) -> bool:
    """The string rules of a property schema (what JSON Schema's validators check)."""
    return (
        schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 10**9)
        and re.search(schema.get("pattern", ""), value) is not None
    )


async def test_title_rules_are_in_the_schema(client: httpx.AsyncClient) -> None:
    schemas = await _schemas(client)
    title = schemas["TaskCreate"]["properties"]["title"]
    assert title["minLength"] == 1
    for refused in ("", "   ", "\t\n", "a\x00", "x" * 256):
        assert not _valid(title, refused), repr(refused)
    for accepted in ("x", " x ", "x" * 255, "  " + "x" * 255 + "  "):
        assert _valid(title, accepted), repr(accepted)
    patch = schemas["TaskPatch"]["properties"]
    for field in ("title", "priority", "tags", "completed"):
        assert "anyOf" not in patch[field] and patch[field].get("type") != "null", field
        assert "default" not in patch[field], field
    assert {"type": "null"} in patch["description"]["anyOf"]  # null clears it


async def test_password_and_account_rules_are_in_the_schema(client: httpx.AsyncClient) -> None:
    signup = (await _schemas(client))["SignUp"]["properties"]
    assert (signup["password"]["minLength"], signup["password"]["maxLength"]) == (8, 72)
    assert not _valid(signup["password"], "12345")
    assert _valid(signup["email"], "ada@example.com")
    assert not _valid(signup["email"], "ada@example")
    username = signup["username"]  # the rules apply to strings; null is allowed too
    assert _valid(username, "ada_l.v-2") and not _valid(username, "ad")


async def test_what_the_schema_calls_valid_is_accepted(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    longest = await client.post(TASKS, headers=headers, json={"title": "x" * 255})
    assert longest.status_code == 201, longest.text
    for recurrence in ("monthly", "FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=DAILY;INTERVAL=2;COUNT=10"):
        body = {"title": "r", "recurrence": recurrence, "due_date": "2100-01-01T09:00:00Z"}
        answer = await client.post(TASKS, headers=headers, json=body)
        assert answer.status_code == 201, (recurrence, answer.text)
    signup = await client.post(
        "/api/v1/auth/signup", json={"email": "eight@example.com", "password": "8 chars!"}
    )
    assert signup.status_code == 201, signup.text


async def test_what_the_schema_refuses_is_refused(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    blank = await client.post(TASKS, headers=headers, json={"title": "   "})
    assert blank.status_code == 422
    task = (await client.post(TASKS, headers=headers, json={"title": "t"})).json()
    null = await client.patch(f"{TASKS}/{task['id']}", headers=headers, json={"title": None})
    assert null.status_code == 422
    short = await client.post("/api/v1/auth/signup", json={"email": "a@b.io", "password": "12345"})
    assert short.status_code == 422
