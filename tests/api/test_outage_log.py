"""A database outage does not flood the log: each kind of storage failure is one line without
a traceback (repeats within the interval are only counted); unexpected errors keep theirs."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from tests.api.conftest import make_settings
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.outages import OutageLog
from todo_core import StorageUnavailable


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
async def down() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    from sqlalchemy.engine import make_url

    url = make_url(f"postgresql+psycopg://todo:pw@127.0.0.1:{_closed_port()}/todo")
    settings = make_settings(url, db_connect_timeout=1)
    app = create_app(build_services(Config.of(settings)), settings)  # no lifespan: it would stop
    token = app.state.services.tokens.issue(user_id=uuid4()).access_token
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, {"Authorization": f"Bearer {token}"}


def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("todo") and r.levelno >= logging.ERROR]


async def test_an_outage_logs_one_line_per_kind_without_traceback(
    down: tuple[httpx.AsyncClient, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, auth = down
    caplog.set_level(logging.INFO)
    for _ in range(20):
        listing = await client.get("/api/v1/users/me/tasks", headers=auth)
        created = await client.post("/api/v1/users/me/tasks", json={"title": "t"}, headers=auth)
        assert (listing.status_code, created.status_code) == (503, 503)
    records = logged(caplog)
    # The refused connection, then the open circuit that answers while it is tripped.
    assert [r.getMessage().split("]")[0] for r in records] == [
        "database unavailable [OperationalError",
        "database unavailable [circuit-open",
    ]
    assert "Connection refused" in records[0].getMessage()
    assert [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()] == []


def test_repeats_are_counted_on_the_next_line_of_their_kind() -> None:
    now = [0.0]
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("test.outages")
    logger.addHandler(handler := Collect())
    try:
        outages = OutageLog(logger, interval=10.0, clock=lambda: now[0])
        refused = StorageUnavailable()
        refused.__cause__ = ConnectionRefusedError("refused")
        for second in (0, 1, 2, 9.9, 10.5, 11):
            now[0] = second
            outages.report(refused, where="GET /x")
            outages.report(StorageUnavailable(), where="GET /x")
    finally:
        logger.removeHandler(handler)
    assert lines == [
        "database unavailable [ConnectionRefusedError] on GET /x: refused",
        "database unavailable [circuit-open] on GET /x: failing fast: the database failed "
        "moments ago",
        "database unavailable [ConnectionRefusedError] on GET /x: refused"
        " (and 3 more like it since the last line)",
        "database unavailable [circuit-open] on GET /x: failing fast: the database failed "
        "moments ago (and 3 more like it since the last line)",
    ]


async def test_an_unexpected_error_keeps_its_traceback(
    app: FastAPI,
    client: httpx.AsyncClient,
    sign_up: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = await sign_up()

    async def broken(**_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.state.services.tasks, "list", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        answer = await raw.get("/api/v1/users/me/tasks", headers=auth)
    assert answer.status_code == 500
    (record,) = logged(caplog)
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
