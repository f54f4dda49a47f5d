"""Sign up, log in, who am I: status codes, shapes and what never leaks."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import PASSWORD, SignUp

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"


async def test_sign_up_returns_the_user_without_the_hash(client: httpx.AsyncClient) -> None:
    response = await client.post(
        SIGNUP,
        json={"email": "  Ada@Example.COM ", "password": PASSWORD, "username": "ada", "name": "A"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert (body["username"], body["name"], body["is_active"]) == ("ada", "A", True)
    assert "password" not in response.text
    assert "$2b$" not in response.text


@pytest.mark.parametrize(
    "second",
    [
        {"email": "ADA@example.com", "username": "other"},
        {"email": "other@example.com", "username": "ada"},
    ],
)
async def test_duplicate_email_or_username_is_409(
    client: httpx.AsyncClient, second: dict[str, str]
) -> None:
    first = {"email": "ada@example.com", "username": "ada", "password": PASSWORD}
    assert (await client.post(SIGNUP, json=first)).status_code == 201
    response = await client.post(SIGNUP, json={**second, "password": PASSWORD})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"email": "a@example.com"}, "body.password"),
    ],
)
async def test_bad_sign_up_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, str], field: str
) -> None:
    response = await client.post(SIGNUP, json=body)
    assert response.status_code == 422
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_log_in_by_email_or_username(client: httpx.AsyncClient) -> None:
    await client.post(
        SIGNUP, json={"email": "a@example.com", "username": "ann", "password": PASSWORD}
    )
    for login in ("a@example.com", "A@Example.com", "ann"):
        response = await client.post(LOGIN, data={"username": login, "password": PASSWORD})
        assert response.status_code == 200, login
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60  # short-lived: refresh tokens keep a session
        me = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert me.json()["email"] == "a@example.com"


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: httpx.AsyncClient, sign_up: SignUp
) -> None:
    await sign_up("known@example.com")
    wrong = await client.post(
        LOGIN, data={"username": "known@example.com", "password": "nope!nope"}
    )
    unknown = await client.post(
        LOGIN, data={"username": "who@example.com", "password": "nope!nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.headers["www-authenticate"] == "Bearer"


async def test_me_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
