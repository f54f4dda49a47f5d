"""With the database unreachable, answers are 503 problem documents, not 500s or hangs."""

from __future__ import annotations

import httpx
import jwt
from sqlalchemy.engine import make_url

from tests.api.conftest import TEST_SECRET, make_settings
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services

# Nothing listens on port 1; the password must never show up anywhere.
DOWN = make_url("postgresql+psycopg://todo:hunter2-secret@127.0.0.1:1/todo")


async def test_requests_answer_503_while_the_database_is_down() -> None:
    settings = make_settings(DOWN, db_connect_timeout=2)
    app = create_app(
        build_services(Config.of(settings)), settings
    )  # no lifespan: the app never started
    token = jwt.encode(
        {"sub": "6b1f4e0e-8c1a-4a57-9d43-5f0d2b8a9c10", "iat": 0, "exp": 9999999999, "iss": "todo"},
        TEST_SECRET,
        algorithm="HS256",
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        health = await client.get("/health")
        tasks = await client.get(
            "/api/v1/users/me/tasks", headers={"Authorization": f"Bearer {token}"}
        )
        login = await client.post(
            "/api/v1/auth/login", data={"username": "a@example.com", "password": "whatever1"}
        )
    assert health.status_code == 503
    assert health.json()["database"] == "disconnected"
    for response in (tasks, login):
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"]
    for response in (health, tasks, login):
        assert "hunter2" not in response.text
        assert "127.0.0.1" not in response.text
