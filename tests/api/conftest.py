"""HTTP end to end: the real app, built by the real composition root, on real PostgreSQL,
driven in-process through httpx (lifespan included)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import count

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.engine import URL

from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_api.settings import Settings
from todo_core.postgres import PostgresDatabase

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "correct horse battery"

Headers = dict[str, str]


def make_settings(database_url: URL, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url.render_as_string(hide_password=False),
        "jwt_secret": TEST_SECRET,
        "password_hash_rounds": 4,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: URL) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings, database: PostgresDatabase) -> AsyncIterator[FastAPI]:
    application = create_app(build_services(Config.of(settings), database=database), settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


_numbers = count()

SignUp = Callable[..., Awaitable[Headers]]


@pytest.fixture
def sign_up(client: httpx.AsyncClient) -> SignUp:
    """Sign a fresh user up, log in, and return the Authorization header."""

    async def sign_up_and_log_in(email: str | None = None, password: str = PASSWORD) -> Headers:
        email = email or f"user{next(_numbers)}@example.com"
        response = await client.post(
            "/api/v1/auth/signup", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        login = await client.post(
            "/api/v1/auth/login", data={"username": email, "password": password}
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['access_token']}"}

    return sign_up_and_log_in
