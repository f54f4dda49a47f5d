"""The MCP server, driven by the official SDK's client: over streamable HTTP at `/mcp` (the
real app on real PostgreSQL, in-process) and over stdio (`todo mcp` as a real subprocess)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import httpx2
import pytest
from fastapi import FastAPI
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from sqlalchemy.engine import URL

from tests.api.conftest import PASSWORD, TEST_SECRET, Headers, SignUp
from todo_api.mcp import build_mcp_server
from todo_api.tokens import Claims

TOOLS = {
    "add_task", "list_tasks", "get_task", "update_task", "complete_task", "reopen_task",
    "delete_task",
}  # fmt: skip


@asynccontextmanager
async def agent(app: FastAPI, headers: Headers | None) -> AsyncIterator[Client]:
    transport = httpx2.ASGITransport(app=app)
    async with (
        httpx2.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers or {}
        ) as http,
        Client(streamable_http_client("http://testserver/mcp", http_client=http)) as c,
    ):
        yield c


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    assert result.is_error
    assert result.structured_content is not None, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    assert "Traceback" not in text and "psycopg" not in text and "SELECT" not in text
    return result.structured_content


def tomorrow() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0).isoformat()


async def test_the_tools_and_their_schemas(app: FastAPI, sign_up: SignUp) -> None:
    async with agent(app, await sign_up()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    add = tools["add_task"]
    assert add.input_schema["required"] == ["title"]
    for name in ("title", "description", "priority", "tags", "due_date", "recurrence"):
        assert name in add.input_schema["properties"]
    assert "idempotency_key" in add.input_schema["properties"]
    for tool in tools.values():
        assert tool.description, tool.name
        assert tool.output_schema is not None, tool.name
        assert tool.name == "list_tasks" or "task_id" in tool.output_schema["properties"]
    listing = tools["list_tasks"].input_schema["properties"]
    assert listing["status"]["enum"] == ["all", "pending", "completed"]
    for name in ("priority", "tag", "due_before", "due_after", "overdue", "q", "sort", "limit",
                 "cursor"):  # fmt: skip
        assert name in listing
    for name in ("update_task", "complete_task", "reopen_task", "delete_task"):
        assert {"task_id", "expected_version", "idempotency_key"} <= set(
            tools[name].input_schema["properties"]
        )


async def test_an_agent_manages_tasks(app: FastAPI, sign_up: SignUp) -> None:
    async with agent(app, await sign_up()) as client:
        added = await call(
            client, "add_task", title="Water the plants", priority="high", tags=["Home"],
            due_date=tomorrow(), recurrence="weekly",
        )  # fmt: skip
        assert added["status"] == "pending" and added["version"] == 1
        assert added["tags"] == ["home"]
        task_id = added["task_id"]
        await call(client, "add_task", title="Buy milk")

        page = await call(client, "list_tasks", status="pending", tag="home")
        assert [task["task_id"] for task in page["tasks"]] == [task_id]
        assert page["next_cursor"] is None
        first = await call(client, "list_tasks", limit=1, sort="title")
        assert first["tasks"][0]["title"] == "Buy milk" and first["next_cursor"]
        second = await call(
            client, "list_tasks", limit=1, sort="title", cursor=first["next_cursor"]
        )
        assert second["tasks"][0]["title"] == "Water the plants"

        renamed = await call(
            client, "update_task", task_id=task_id, title="Water the ferns", expected_version=1
        )
        assert renamed["title"] == "Water the ferns" and renamed["version"] == 2
        stale = await refused(
            client, "update_task", task_id=task_id, title="Lost edit", expected_version=1
        )
        assert stale["status"] == 412 and stale["title"] == "Precondition failed"

        done = await call(client, "complete_task", task_id=task_id)
        assert done["status"] == "completed"
        following = done["next_occurrence"]
        assert following["status"] == "pending" and following["title"] == "Water the ferns"
        assert following["due_date"] > added["due_date"]

        reopened = await call(client, "reopen_task", task_id=task_id)
        assert reopened["status"] == "pending" and reopened["completed_at"] is None

        cleared = await call(client, "update_task", task_id=following["task_id"],
                             clear=["recurrence", "due_date"])  # fmt: skip
        assert cleared["due_date"] is None and cleared["recurrence"] is None

        deleted = await call(client, "delete_task", task_id=task_id)
        assert deleted == {**deleted, "task_id": task_id, "deleted": True}
        gone = await refused(client, "get_task", task_id=task_id)
        assert gone["status"] == 404


async def test_another_user_never_sees_or_touches_the_tasks(app: FastAPI, sign_up: SignUp) -> None:
    ada_token = await sign_up()
    async with agent(app, ada_token) as ada:
        task = await call(ada, "add_task", title="Ada's secret")
    async with agent(app, await sign_up()) as bob:
        assert (await call(bob, "list_tasks"))["tasks"] == []
        for tool, extra in (
            ("get_task", {}),
            ("update_task", {"title": "Bob was here"}),
            ("complete_task", {}),
            ("reopen_task", {}),
            ("delete_task", {}),
        ):
            problem = await refused(bob, tool, task_id=task["task_id"], **extra)
            assert problem["status"] == 404, tool
            assert "secret" not in str(problem)
    async with agent(app, ada_token) as ada:  # nothing of Ada's changed
        assert await call(ada, "get_task", task_id=task["task_id"]) == task


async def test_invalid_arguments_are_tool_errors_with_fields(app: FastAPI, sign_up: SignUp) -> None:
    async with agent(app, await sign_up()) as client:
        blank = await refused(client, "add_task", title="   ")
        assert blank["title"] == "Invalid input"
        assert [error["field"] for error in blank["errors"]] == ["title"]
        wrong = await refused(client, "add_task", title="Ok", priority="urgent")
        assert wrong["status"] == 422 and wrong["errors"][0]["field"] == "priority"
        past = await refused(client, "add_task", title="Ok", due_date="2001-01-01T00:00:00Z")
        assert past["errors"][0]["field"] == "due_date"
        orphan = await refused(client, "add_task", title="Ok", recurrence="daily")
        assert orphan["status"] == 422
        not_an_id = await refused(client, "get_task", task_id="42")
        assert not_an_id["errors"][0]["field"] == "task_id"


async def test_no_token_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    accept = {"Accept": "application/json, text/event-stream"}
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = await client.post("/mcp", json=hello, headers={**accept, **headers})
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("Bearer") and "resource_metadata=" in challenge
    metadata = await client.get("/.well-known/oauth-protected-resource/mcp")
    assert metadata.status_code == 200
    assert metadata.json()["resource"].endswith("/mcp")


def _stdio(database_url: URL, **env: str) -> dict[str, str]:
    return {
        # DB_POOLED: the Neon rig's pooler has no `-pooler` in its host name.
        **{
            k: v
            for k, v in os.environ.items()
            if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "DB_POOLED")
        },
        "DATABASE_URL": database_url.render_as_string(hide_password=False),
        "JWT_SECRET": TEST_SECRET,
        **env,
    }


async def test_stdio_acts_for_the_token_s_user(
    database_url: URL, app: FastAPI, sign_up: SignUp
) -> None:
    headers = await sign_up()
    token = headers["Authorization"].removeprefix("Bearer ")
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "todo_api.cli", "mcp"],
        env=_stdio(database_url, TODO_ACCESS_TOKEN=token),
    )
    async with Client(server) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        added = await call(client, "add_task", title="From the desktop", due_date=tomorrow())
        listed = await call(client, "list_tasks")
        assert [task["task_id"] for task in listed["tasks"]] == [added["task_id"]]
    async with agent(app, headers) as same_user:  # the same task over HTTP
        assert (await call(same_user, "get_task", task_id=added["task_id"]))["title"] == (
            "From the desktop"
        )


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_stdio_without_a_valid_token_stops_in_one_line(
    database_url: URL, token: str | None
) -> None:
    env = _stdio(database_url, **({"TODO_ACCESS_TOKEN": token} if token else {}))
    done = subprocess.run(
        [sys.executable, "-m", "todo_api.cli", "mcp"],
        env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("todo: error: TODO_ACCESS_TOKEN")
    assert done.stdout == ""
    if token:
        assert token not in done.stderr


async def test_a_token_revoked_by_a_password_change_stops_working(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up(password=PASSWORD)
    async with agent(app, headers) as before:
        await call(before, "add_task", title="Before the change")
        changed = await client.post(
            "/api/v1/users/me/password",
            json={"current_password": PASSWORD, "new_password": "another long passphrase"},
            headers=headers,
        )
        assert changed.status_code == 204, changed.text
        problem = await refused(before, "list_tasks")
        assert problem["status"] == 401


async def test_a_retried_write_with_a_key_acts_once(
    app: FastAPI, client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    headers = await sign_up()
    async with agent(app, headers) as ai:
        first = await call(ai, "add_task", title="Buy milk", idempotency_key="milk-1")
        again = await ai.call_tool("add_task", {"title": "Buy milk", "idempotency_key": "milk-1"})
        assert not again.is_error and again.structured_content == first
        assert again.meta is not None and again.meta["idempotent_replayed"] is True
        assert len((await call(ai, "list_tasks"))["tasks"]) == 1

        other = await refused(ai, "add_task", title="Buy bread", idempotency_key="milk-1")
        assert other["status"] == 422

        task_id = first["task_id"]
        done = await call(ai, "complete_task", task_id=task_id, idempotency_key="done-1")
        await call(ai, "reopen_task", task_id=task_id)
        replay = await call(ai, "complete_task", task_id=task_id, idempotency_key="done-1")
        assert replay == done  # the kept answer; the reopened task stays reopened
        assert (await call(ai, "get_task", task_id=task_id))["status"] == "pending"

        gone = await call(ai, "delete_task", task_id=task_id, idempotency_key="del-1")
        assert await call(ai, "delete_task", task_id=task_id, idempotency_key="del-1") == gone
        missing = await refused(ai, "delete_task", task_id=task_id, idempotency_key="del-2")
        assert missing["status"] == 404

    # The same key on the HTTP API is another request: refused, never replayed across.
    reused = await client.post(
        "/api/v1/users/me/tasks",
        json={"title": "Buy milk"},
        headers={**headers, "Idempotency-Key": "milk-1"},
    )
    assert reused.status_code == 422


def test_building_the_server_leaves_the_process_logging_alone() -> None:
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers[:] = []  # as in a process that has not configured logging (pytest has)

    async def nobody() -> Claims:
        raise AssertionError("not called")

    try:
        build_mcp_server(SimpleNamespace(tasks=None), actor=nobody, version="test")  # type: ignore[arg-type]
        assert root.handlers == []
    finally:
        root.handlers[:] = kept
