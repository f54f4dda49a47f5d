"""Idempotency keys, the change feed and atomic batches end to end, on real PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.conftest import Headers, SignUp

TASKS = "/api/v1/users/me/tasks"
CHANGES = "/api/v1/users/me/changes"
BATCH = "/api/v1/users/me/tasks/batch"


@pytest.fixture
async def auth(sign_up: SignUp) -> Headers:
    return await sign_up()


def keyed(auth: Headers, key: str) -> Headers:
    return {**auth, "Idempotency-Key": key}


async def count_tasks(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(text("SELECT count(*) FROM tasks"))).scalar_one()


# Idempotency keys


async def test_a_retried_create_makes_one_task_and_replays_body_and_etag(
    client: httpx.AsyncClient, auth: Headers, engine: AsyncEngine
) -> None:
    headers = keyed(auth, "create-1")
    first = await client.post(TASKS, json={"title": "Once"}, headers=headers)
    again = await client.post(TASKS, json={"title": "Once"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["etag"] == first.headers["etag"] == '"v1"'
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_tasks(engine) == 1


async def test_the_same_key_with_another_body_method_or_path_is_422(
    client: httpx.AsyncClient, auth: Headers, engine: AsyncEngine
) -> None:
    headers = keyed(auth, "reused")
    created = await client.post(TASKS, json={"title": "A"}, headers=headers)
    other_body = await client.post(TASKS, json={"title": "B"}, headers=headers)
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert other_body.json()["type"] == "urn:todo:problem:idempotency-key-reused"
    url = created.headers["location"]
    other_route = await client.patch(url, json={"title": "A"}, headers=headers)
    assert other_route.status_code == 422
    assert await count_tasks(engine) == 1


async def test_twenty_concurrent_requests_with_one_key_make_one_effect(
    client: httpx.AsyncClient, auth: Headers, engine: AsyncEngine
) -> None:
    headers = keyed(auth, "storm")
    answers = await asyncio.gather(
        *(client.post(TASKS, json={"title": "Storm"}, headers=headers) for _ in range(20))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, statuses
    assert await count_tasks(engine) == 1
    bodies = {answer.content for answer in answers if answer.status_code == 201}
    assert len(bodies) == 1  # every 201 is the one task, first answer or replay
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["type"] == "urn:todo:problem:idempotency-key-in-use"


async def test_keyed_update_and_delete_replay_without_a_second_effect(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    url = (await client.post(TASKS, json={"title": "T"}, headers=auth)).headers["location"]
    patch = keyed({**auth, "If-Match": '"v1"'}, "patch-1")
    first = await client.patch(url, json={"title": "T2"}, headers=patch)
    again = await client.patch(url, json={"title": "T2"}, headers=patch)
    assert (first.status_code, again.status_code) == (200, 200)  # not 412: it is a replay
    assert again.content == first.content and again.headers["etag"] == '"v2"'
    assert (await client.get(url, headers=auth)).json()["version"] == 2
    delete = keyed(auth, "delete-1")
    gone = await client.delete(url, headers=delete)
    replay = await client.delete(url, headers=delete)
    assert (gone.status_code, replay.status_code) == (204, 204)  # not 404
    assert replay.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("key", ["", "with space", "x" * 256, "caf\u00e9"])
async def test_malformed_keys_are_422(client: httpx.AsyncClient, auth: Headers, key: str) -> None:
    headers = {**auth, "Idempotency-Key": key}
    try:
        response = await client.post(TASKS, json={"title": "T"}, headers=headers)
    except UnicodeEncodeError:
        return  # httpx refuses non-ASCII header values itself
    assert response.status_code == 422, response.text


async def test_keys_belong_to_their_user(
    client: httpx.AsyncClient, sign_up: SignUp, engine: AsyncEngine
) -> None:
    alice, bob = await sign_up(), await sign_up()
    a = await client.post(TASKS, json={"title": "A"}, headers=keyed(alice, "shared"))
    b = await client.post(TASKS, json={"title": "B"}, headers=keyed(bob, "shared"))
    assert (a.status_code, b.status_code) == (201, 201)
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]
    assert await count_tasks(engine) == 2


# The change feed


async def read_feed(
    client: httpx.AsyncClient, auth: Headers, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    """Follow the feed until has_more is false; every change and the last cursor."""
    changes: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(CHANGES, params=params, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()
        changes += page["changes"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return changes, cursor


async def test_feed_starts_with_every_task_then_shows_updates_and_tombstones(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    urls = [
        (await client.post(TASKS, json={"title": f"T{i}"}, headers=auth)).headers["location"]
        for i in range(5)
    ]
    await client.delete(urls[0], headers=auth)
    first, cursor = await read_feed(client, auth, limit=2)
    upserts = [c["task"]["title"] for c in first if c["op"] == "upsert"]
    assert upserts == ["T1", "T2", "T3", "T4"]
    # Pages after the first carry tombstones; one for a task this client never saw is harmless.
    assert [c for c in first if c["op"] == "delete"] in (
        [],
        [{"op": "delete", "id": urls[0][-36:]}],
    )
    await client.patch(urls[1], json={"title": "T1a"}, headers=auth)
    await client.patch(urls[1], json={"completed": True}, headers=auth)
    await client.delete(urls[2], headers=auth)
    later, cursor = await read_feed(client, auth, cursor)
    assert later[0]["op"] == "upsert" and later[0]["task"]["title"] == "T1a"
    assert later[0]["task"]["completed"] is True and later[0]["task"]["version"] == 3
    assert later[1] == {"op": "delete", "id": urls[2].rsplit("/", 1)[1]}
    assert len(later) == 2
    nothing, _ = await read_feed(client, auth, cursor)
    assert nothing == []


async def test_feed_reports_recurrence_follow_ups(client: httpx.AsyncClient, auth: Headers) -> None:
    due = "2099-01-01T09:00:00+00:00"
    body = {"title": "Daily", "due_date": due, "recurrence": "daily"}
    url = (await client.post(TASKS, json=body, headers=auth)).headers["location"]
    _, cursor = await read_feed(client, auth)
    done = (await client.patch(url, json={"completed": True}, headers=auth)).json()
    changes, _ = await read_feed(client, auth, cursor)
    assert [c["task"]["id"] for c in changes] == [done["id"], done["next_occurrence"]["id"]]


async def test_an_expired_or_forged_cursor(
    client: httpx.AsyncClient, auth: Headers, settings: Any
) -> None:
    import base64
    import json
    import time

    old = {"n": 0, "t": int(time.time()) - 31 * 86400}
    cursor = base64.urlsafe_b64encode(json.dumps(old).encode()).rstrip(b"=").decode()
    expired = await client.get(CHANGES, params={"cursor": cursor}, headers=auth)
    assert expired.status_code == 410
    assert expired.headers["content-type"] == "application/problem+json"
    assert expired.json()["type"] == "urn:todo:problem:cursor-expired"
    forged = await client.get(CHANGES, params={"cursor": "not-a-cursor"}, headers=auth)
    assert forged.status_code == 422


async def test_feeds_are_per_user(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    alice, bob = await sign_up(), await sign_up()
    url = (await client.post(TASKS, json={"title": "secret"}, headers=alice)).headers["location"]
    await client.delete(url, headers=alice)
    assert (await read_feed(client, bob))[0] == []
    _, cursor = await read_feed(client, bob)
    await client.post(TASKS, json={"title": "again"}, headers=alice)
    assert (await read_feed(client, bob, cursor))[0] == []
    alice_id = (await client.get("/api/v1/users/me", headers=alice)).json()["id"]
    other = await client.get(f"/api/v1/users/{alice_id}/changes", headers=bob)
    assert other.status_code == 403


async def test_the_feed_never_skips_with_eight_concurrent_writers(
    client: httpx.AsyncClient, auth: Headers, engine: AsyncEngine
) -> None:
    seen: dict[str, dict[str, Any]] = {}
    cursor: str | None = None

    def apply(changes: list[dict[str, Any]]) -> None:
        for change in changes:
            if change["op"] == "delete":
                seen.pop(change["id"], None)
            else:
                seen[change["task"]["id"]] = change["task"]

    async def writer(number: int) -> None:
        rng = random.Random(number)
        mine: list[str] = []
        for step in range(12):
            choice = rng.random()
            if not mine or choice < 0.5:
                body = {"title": f"w{number}-{step}"}
                created = await client.post(TASKS, json=body, headers=auth)
                mine.append(created.headers["location"])
            elif choice < 0.8:
                await client.patch(rng.choice(mine), json={"title": f"e{step}"}, headers=auth)
            else:
                await client.delete(mine.pop(rng.randrange(len(mine))), headers=auth)

    writers = asyncio.gather(*(writer(n) for n in range(8)))
    while not writers.done():
        changes, cursor = await read_feed(client, auth, cursor, limit=7)
        apply(changes)
        await asyncio.sleep(0)
    await writers
    changes, cursor = await read_feed(client, auth, cursor)
    apply(changes)
    final = {task["id"]: task for task in await all_tasks(client, auth)}
    assert seen == final
    assert len(final) > 8


async def all_tasks(client: httpx.AsyncClient, auth: Headers) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(TASKS, params=params, headers=auth)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# Atomic batches


async def test_a_batch_refers_to_its_own_new_task(client: httpx.AsyncClient, auth: Headers) -> None:
    existing = (await client.post(TASKS, json={"title": "Old"}, headers=auth)).json()
    operations = [
        {"op": "create", "ref": "a", "data": {"title": "New", "tags": ["x"]}},
        {"op": "update", "ref": "a", "data": {"priority": "high"}, "expected_version": 1},
        {"op": "complete", "ref": "a", "expected_version": 2},
        {"op": "reopen", "ref": "a"},
        {"op": "update", "id": existing["id"], "data": {"title": "Old2"}},
        {"op": "delete", "id": existing["id"], "expected_version": 2},
    ]
    response = await client.post(BATCH, json={"operations": operations}, headers=auth)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["op"] for r in results] == [o["op"] for o in operations]
    assert [r["status"] for r in results] == [201, 200, 200, 200, 200, 204]
    new = results[3]["task"]
    assert (new["title"], new["priority"], new["completed"], new["version"]) == (
        "New", "high", False, 4,
    )  # fmt: skip
    assert results[3]["etag"] == '"v4"' and results[0]["id"] == new["id"]
    assert results[5]["task"] is None
    assert [t["title"] for t in await all_tasks(client, auth)] == ["New"]


async def test_a_batch_whose_seventh_operation_fails_leaves_nothing(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    existing = (await client.post(TASKS, json={"title": "Keep"}, headers=auth)).json()
    _, cursor = await read_feed(client, auth)
    operations: list[dict[str, Any]] = [
        {"op": "create", "ref": f"n{i}", "data": {"title": f"N{i}"}} for i in range(5)
    ]
    operations.append({"op": "update", "id": existing["id"], "data": {"title": "Changed"}})
    operations.append({"op": "delete", "id": existing["id"], "expected_version": 1})  # stale
    operations.append({"op": "create", "data": {"title": "after"}})
    response = await client.post(BATCH, json={"operations": operations}, headers=auth)
    assert response.status_code == 412
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert (problem["index"], problem["op"]) == (6, "delete")
    assert "Operation 6" in problem["detail"]
    assert [t["title"] for t in await all_tasks(client, auth)] == ["Keep"]
    assert (await read_feed(client, auth, cursor))[0] == []


async def test_batch_failures_name_the_operation(client: httpx.AsyncClient, auth: Headers) -> None:
    cases = [
        ([{"op": "complete", "ref": "nowhere"}], 422, 0),
        ([{"op": "create", "data": {"title": "a"}}, {"op": "delete", "id": str(_uuid())}], 404, 1),
        ([{"op": "create", "ref": "a", "data": {"title": "   "}}], 422, 0),
    ]
    for operations, status, index in cases:
        response = await client.post(BATCH, json={"operations": operations}, headers=auth)
        assert response.status_code == status, response.text
        assert response.json()["index"] == index
    too_many = [{"op": "create", "data": {"title": "t"}}] * 101
    response = await client.post(BATCH, json={"operations": too_many}, headers=auth)
    assert response.status_code == 422
    assert await all_tasks(client, auth) == []


def _uuid() -> str:
    import uuid

    return str(uuid.uuid4())


async def test_batches_cannot_touch_other_users_tasks_and_replay_with_keys(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    alice, bob = await sign_up(), await sign_up()
    hers = (await client.post(TASKS, json={"title": "hers"}, headers=alice)).json()
    attack = [{"op": "delete", "id": hers["id"]}]
    response = await client.post(BATCH, json={"operations": attack}, headers=bob)
    assert response.status_code == 404
    alice_id = hers["user_id"]
    theirs = await client.post(
        f"/api/v1/users/{alice_id}/tasks/batch", json={"operations": attack}, headers=bob
    )
    assert theirs.status_code == 403
    ops = {"operations": [{"op": "create", "data": {"title": "once"}}]}
    first = await client.post(BATCH, json=ops, headers=keyed(bob, "b1"))
    again = await client.post(BATCH, json=ops, headers=keyed(bob, "b1"))
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert len(await all_tasks(client, bob)) == 1


async def test_a_keyed_write_that_fails_keeps_no_key(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    url = (await client.post(TASKS, json={"title": "T"}, headers=auth)).headers["location"]
    await client.delete(url, headers=auth)
    headers = keyed(auth, "late-delete")
    missing = await client.delete(url, headers=headers)
    assert missing.status_code == 404  # the write's own answer, not a stored one
    again = await client.delete(url, headers=headers)
    assert again.status_code == 404 and "idempotent-replayed" not in again.headers
    stale = await client.patch(url, json={"title": "x"}, headers=keyed(auth, "stale"))
    assert stale.status_code == 404
