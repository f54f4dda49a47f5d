"""Completing an occurrence of a recurring task yields at most one next occurrence, ever: not
again after reopen and re-complete, not twice under concurrent completes, not again after
the follow-up was deleted. The database enforces it (task_follow_ups, keyed by the source)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import SignUp

TASKS = "/api/v1/users/me/tasks"


async def recurring(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body = {"title": "Water the plants", "due_date": due.isoformat(), "recurrence": "daily"}
    created = await client.post(TASKS, json=body, headers=auth)
    assert created.status_code == 201, created.text
    task_id: str = created.json()["id"]
    return task_id


async def patch(client: httpx.AsyncClient, auth: dict[str, str], task_id: str, done: bool) -> dict:
    answer = await client.patch(f"{TASKS}/{task_id}", json={"completed": done}, headers=auth)
    assert answer.status_code == 200, answer.text
    body: dict = answer.json()
    return body


async def all_ids(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    listing = await client.get(TASKS, params={"limit": 100}, headers=auth)
    return [task["id"] for task in listing.json()["items"]]


async def test_complete_reopen_cycles_create_one_follow_up(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    task_id = await recurring(client, auth)
    first = await patch(client, auth, task_id, True)
    follow_up = first["next_occurrence"]["id"]
    for _ in range(5):
        await patch(client, auth, task_id, False)
        again = await patch(client, auth, task_id, True)
        assert again["next_occurrence"] is None  # it had its one already
    assert sorted(await all_ids(client, auth)) == sorted([task_id, follow_up])


async def test_reopening_keeps_the_follow_up(client: httpx.AsyncClient, sign_up: SignUp) -> None:
    auth = await sign_up()
    task_id = await recurring(client, auth)
    follow_up = (await patch(client, auth, task_id, True))["next_occurrence"]["id"]
    await patch(client, auth, task_id, False)
    assert (await client.get(f"{TASKS}/{follow_up}", headers=auth)).status_code == 200


async def test_concurrent_completes_and_reopens_create_one_follow_up(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    task_id = await recurring(client, auth)
    for _ in range(5):  # each round: 10 completes and 10 reopens at once
        await asyncio.gather(
            *(
                client.patch(f"{TASKS}/{task_id}", json={"completed": n % 2 == 0}, headers=auth)
                for n in range(20)
            )
        )
    assert len(await all_ids(client, auth)) <= 2


async def test_a_deleted_follow_up_is_not_created_again(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    task_id = await recurring(client, auth)
    follow_up = (await patch(client, auth, task_id, True))["next_occurrence"]["id"]
    assert (await client.delete(f"{TASKS}/{follow_up}", headers=auth)).status_code == 204
    await patch(client, auth, task_id, False)
    again = await patch(client, auth, task_id, True)
    assert again["next_occurrence"] is None
    assert await all_ids(client, auth) == [task_id]


async def test_concurrent_completes_all_apply_with_one_follow_up(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    auth = await sign_up()
    task_id = await recurring(client, auth)
    answers = await asyncio.gather(
        *(
            client.patch(f"{TASKS}/{task_id}", json={"completed": True}, headers=auth)
            for _ in range(20)
        )
    )
    assert [answer.status_code for answer in answers] == [200] * 20  # no If-Match: never 412
    follow_ups = [a.json()["next_occurrence"] for a in answers if a.json()["next_occurrence"]]
    assert len(follow_ups) == 1
    assert sorted(await all_ids(client, auth)) == sorted([task_id, follow_ups[0]["id"]])
