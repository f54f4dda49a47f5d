"""Secrets stay secret: the database password and the JWT secret never reach a log line, an
error answer or /health (also when the database is down); production refuses a weak
JWT_SECRET; every answer carries the security headers."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pydantic
import pytest
from fastapi import FastAPI

from tests.api.conftest import PASSWORD, TEST_SECRET
from tests.security.conftest import assert_problem
from tests.security.leaks import leaks
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.settings import Settings
from todo_core import StorageUnavailable

DB_PASSWORD = "db-pa55word-that-must-never-show"
JWT_SECRET = "jwt-secret-that-must-never-show-0123456789abcdef"
SECRETS = [DB_PASSWORD, JWT_SECRET]


def _closed_port() -> int:
    with socket.socket() as probe:  # bound then closed: nothing listens there any more
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def unreachable() -> FastAPI:
    """The app pointed at a database that does not answer (lifespan not run: it would stop)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"postgresql://todo:{DB_PASSWORD}@127.0.0.1:{_closed_port()}/todo",
        jwt_secret=JWT_SECRET,
        db_connect_timeout=1,
        db_pool_timeout=2,
        password_hash_rounds=4,
    )
    return create_app(build_services(Config.of(settings)), settings)


@pytest.fixture
async def down(unreachable: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=unreachable, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_an_unreachable_database_is_503_and_shows_no_secret(
    down: httpx.AsyncClient, unreachable: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = unreachable.state.services.tokens.issue(user_id=uuid4()).access_token
    auth = {"Authorization": f"Bearer {token}"}
    for path in ("/health", "/api/v1/health"):
        health = await down.get(path)
        assert health.status_code == 503
        assert health.json()["database"] == "disconnected"
        assert leaks(health.text, SECRETS) == []
    answers = [
        await down.post(
            "/api/v1/auth/signup", json={"email": "a@example.com", "password": PASSWORD}
        ),
        await down.post("/api/v1/auth/login", data={"username": "a@example.com", "password": "x"}),
        await down.get("/api/v1/users/me", headers=auth),
        await down.get("/api/v1/users/me/tasks", headers=auth),
        await down.post("/api/v1/users/me/tasks", json={"title": "t"}, headers=auth),
    ]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.headers["retry-after"]
        assert leaks(answer.text, SECRETS) == []
    assert caplog.records  # the failures were logged...
    assert [s for s in SECRETS if s in caplog.text] == []  # ...without a secret


async def test_a_failed_start_names_the_database_without_its_password(
    unreachable: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageUnavailable) as failed:
        await unreachable.state.services.startup()
    assert [s for s in SECRETS if s in str(failed.value) or s in caplog.text] == []
    assert "127.0.0.1" in caplog.text  # the log still says which database it tried


async def test_a_normal_session_logs_no_secret_password_or_hash(
    client: httpx.AsyncClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = "quiet@example.com"
    await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    login = await client.post("/api/v1/auth/login", data={"username": email, "password": PASSWORD})
    token = login.json()["access_token"]
    await client.post("/api/v1/auth/login", data={"username": email, "password": "wrong-pass"})
    await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}x"})
    await client.get("/api/v1/users/me/tasks", headers={"Authorization": f"Bearer {token}"})
    url = settings.database_url.get_secret_value() if settings.database_url else ""
    db_password = url.split("@")[0].rsplit(":", 1)[-1] if "@" in url else ""
    secrets = [TEST_SECRET, PASSWORD, *([db_password] if len(db_password) > 3 else [])]
    assert leaks(caplog.text, secrets) == []


async def test_a_bad_token_is_never_echoed(client: httpx.AsyncClient) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWNyZXQtdG9rZW4ifQ.c2lnbmF0dXJl"
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert token not in response.text and "eyJ" not in response.text


def test_settings_never_show_their_secrets() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"postgresql://u:{DB_PASSWORD}@db.example.com/todo",
        jwt_secret=JWT_SECRET,
    )
    shown = f"{settings!r} {settings} {settings.model_dump()} {settings.model_dump_json()}"
    assert [s for s in SECRETS if s in shown] == []


WEAK = [
    None,
    "short",
    "change-me",
    "secret",
    "your-secret-key-here",
    "a" * 64,
    "abababab" * 8,
    "0123456789012345678901234567890",  # 31 characters
]


@pytest.mark.parametrize("secret", WEAK)
def test_production_refuses_a_weak_or_default_jwt_secret(secret: str | None) -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings(_env_file=None, environment="production", jwt_secret=secret)  # type: ignore[call-arg]
    assert "JWT_SECRET" in str(refused.value)
    assert not secret or secret not in str(refused.value)


def test_production_accepts_a_strong_secret_and_development_any() -> None:
    Settings(_env_file=None, environment="production", jwt_secret=JWT_SECRET)  # type: ignore[call-arg]
    Settings(_env_file=None, environment="development", jwt_secret="weak")  # type: ignore[call-arg]


def test_wildcard_cors_with_credentials_is_refused_without_showing_any_value() -> None:
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            cors_origins="*",
            cors_allow_credentials=True,
            database_url=f"postgresql://todo:{DB_PASSWORD}@db.example/todo",
        )
    assert "CORS_ORIGINS may not contain '*'" in str(refused.value)
    assert DB_PASSWORD not in str(refused.value)


def test_production_start_from_the_environment_refuses_the_placeholder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from todo_api.bootstrap import load_config

    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", "change-me")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@localhost/todo")
    monkeypatch.chdir("/")  # no .env file can chime in
    with pytest.raises(pydantic.ValidationError) as refused:
        load_config()
    assert "JWT_SECRET is too weak" in str(refused.value)
    assert "change-me" not in str(refused.value)


EXPECTED_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def test_security_headers_on_every_kind_of_answer(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/health"),
        await client.get("/api/v1/users/me"),  # 401
        await client.get("/nowhere"),  # 404
        await client.delete("/health"),  # 405
        await client.post("/api/v1/auth/signup", json={}),  # 422
        await client.post("/api/v1/auth/signup", content=b"x" * 2_000_000),  # 413
        await client.get("/openapi.json"),
        await client.get("/docs"),
    ]
    for answer in answers:
        for name, value in EXPECTED_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
        assert "cache-control" in answer.headers
        if answer.headers["content-type"].startswith("application/"):
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "server" not in answer.headers or "uvicorn" not in answer.headers["server"]


async def test_hsts_only_over_https(client: httpx.AsyncClient) -> None:
    assert "strict-transport-security" not in (await client.get("/health")).headers
    secure = await client.get("https://testserver/health")
    assert secure.headers["strict-transport-security"].startswith("max-age=")


async def test_the_login_answer_is_never_cached(client: httpx.AsyncClient) -> None:
    email = "cache@example.com"
    await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    login = await client.post("/api/v1/auth/login", data={"username": email, "password": PASSWORD})
    assert login.headers["cache-control"] == "no-store"
