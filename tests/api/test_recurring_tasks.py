"""Completing a recurring task creates the next occurrence, in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.conftest import Headers, SignUp

TASKS = "/api/v1/users/me/tasks"


def next_weekday(weekday: int, hour: int = 9) -> datetime:
    """The next given weekday (Monday = 0), at least a day ahead, at `hour` UTC."""
    day = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
    day += timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def next_january_31() -> datetime:
    year = datetime.now(UTC).year + 1
    return datetime(year, 1, 31, 8, 30, tzinfo=UTC)


@pytest.fixture
async def auth(sign_up: SignUp) -> Headers:
    return await sign_up()


async def complete(client: httpx.AsyncClient, auth: Headers, task_id: str) -> httpx.Response:
    response = await client.patch(f"{TASKS}/{task_id}", json={"completed": True}, headers=auth)
    assert response.status_code == 200, response.text
    return response


async def create(client: httpx.AsyncClient, auth: Headers, due: datetime, rule: str) -> dict:
    body = {"title": "Recurring", "due_date": due.isoformat(), "recurrence": rule, "tags": ["r"]}
    response = await client.post(TASKS, json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("rule", "due", "expected"),
    [
        ("daily", lambda: next_weekday(2), lambda d: d + timedelta(days=1)),
        ("FREQ=WEEKLY;BYDAY=MO,WE", lambda: next_weekday(0), lambda d: d + timedelta(days=2)),
        (
            "FREQ=MONTHLY;BYMONTHDAY=31",
            next_january_31,
            lambda d: d.replace(month=3),  # February has no 31st: RRULE skips it
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", next_january_31, lambda d: d.replace(month=2, day=28)),
    ],
    ids=["daily", "weekly-byday", "monthly-31st", "monthly-last-day"],
)
async def test_completing_creates_the_next_occurrence(
    client: httpx.AsyncClient, auth: Headers, rule: str, due: object, expected: object
) -> None:
    first_due = due()  # type: ignore[operator]
    if rule.endswith("=-1") and (first_due.year % 4 == 0):
        pytest.skip("leap year: February has 29 days")
    task = await create(client, auth, first_due, rule)
    response = await complete(client, auth, task["id"])
    body = response.json()
    assert body["completed"] is True
    following = body["next_occurrence"]
    assert following["completed"] is False
    assert following["title"] == "Recurring"
    assert following["tags"] == ["r"]
    assert datetime.fromisoformat(following["due_date"]) == expected(first_due)  # type: ignore[operator]
    assert response.headers["link"] == (
        f'</api/v1/users/{task["user_id"]}/tasks/{following["id"]}>; rel="next-occurrence"'
    )
    listed = (await client.get(TASKS, params={"completed": "false"}, headers=auth)).json()
    assert [item["id"] for item in listed["items"]] == [following["id"]]


async def test_a_series_with_count_ends(client: httpx.AsyncClient, auth: Headers) -> None:
    task = await create(client, auth, next_weekday(4), "FREQ=DAILY;COUNT=3")
    ids = [task["id"]]
    for _ in range(2):
        following = (await complete(client, auth, ids[-1])).json()["next_occurrence"]
        ids.append(following["id"])
    last = (await complete(client, auth, ids[-1])).json()
    assert last["next_occurrence"] is None
    everything = (await client.get(TASKS, headers=auth)).json()["items"]
    assert len(everything) == 3
    assert all(item["completed"] for item in everything)


async def test_completing_twice_creates_one_follow_up(
    client: httpx.AsyncClient, auth: Headers
) -> None:
    task = await create(client, auth, next_weekday(1), "weekly")
    await complete(client, auth, task["id"])
    again = (await complete(client, auth, task["id"])).json()
    assert again["next_occurrence"] is None
    assert len((await client.get(TASKS, headers=auth)).json()["items"]) == 2


async def test_reopening_clears_completed_at(client: httpx.AsyncClient, auth: Headers) -> None:
    task = await create(client, auth, next_weekday(3), "daily")
    await complete(client, auth, task["id"])
    reopened = await client.patch(f"{TASKS}/{task['id']}", json={"completed": False}, headers=auth)
    assert (reopened.json()["completed"], reopened.json()["completed_at"]) == (False, None)
