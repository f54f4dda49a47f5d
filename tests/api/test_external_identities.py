"""Tokens of an external issuer over HTTP: the JWKS served on a loopback port (the real
fetcher), users created just in time, the path forms of `{user_id}`, and the namespace rule."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import URL

from tests.api.conftest import SignUp, make_settings
from tests.support.issuer import Issuer, Key, new_subject
from todo_api.app import create_app
from todo_api.bootstrap import Config, build_services
from todo_core.postgres import PostgresDatabase

PROBLEM = "application/problem+json"


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    """An issuer whose JWKS is served at http://127.0.0.1:<free port>/api/auth/jwks."""
    issuer = Issuer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer.fetches += 1
            body = json.dumps(issuer.jwks()).encode()
            found = self.path == "/api/auth/jwks"
            self.send_response(503 if not issuer.reachable else 200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def client(
    database_url: URL, database: PostgresDatabase, issuer: Issuer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database_url, jwks_url=f"{issuer.url}/api/auth/jwks", jwks_min_refetch_seconds=0
    )
    app = create_app(build_services(Config.of(settings), database=database), settings)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_new_subject_becomes_a_user_on_its_first_token(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    subject = new_subject()
    token = issuer.token(subject, email="Grace@Example.com", name="Grace Hopper")
    me = await client.get("/api/v1/users/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    body = me.json()
    assert (body["email"], body["name"], body["email_verified"]) == (
        "grace@example.com", "Grace Hopper", True,
    )  # fmt: skip
    again = await client.get("/api/v1/users/me", headers=bearer(issuer.token(subject)))
    assert again.json()["id"] == body["id"]
    for ref in (subject, body["id"], "me"):
        response = await client.get(f"/api/v1/users/{ref}", headers=bearer(token))
        assert response.status_code == 200, (ref, response.text)
    other = await client.get(f"/api/v1/users/{new_subject()}", headers=bearer(token))
    assert other.status_code == 403


async def test_the_external_id_works_in_task_paths(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    subject = new_subject()
    headers = bearer(issuer.token(subject))
    created = await client.post(
        f"/api/v1/users/{subject}/tasks", json={"title": "from the front end"}, headers=headers
    )
    assert created.status_code == 201, created.text
    listed = await client.get("/api/v1/users/me/tasks", headers=headers)
    assert [t["title"] for t in listed.json()["items"]] == ["from the front end"]


async def test_an_external_sub_equal_to_a_local_id_does_not_act_as_that_user(
    client: httpx.AsyncClient, issuer: Issuer, sign_up: SignUp
) -> None:
    local_headers = await sign_up()
    local_id = (await client.get("/api/v1/users/me", headers=local_headers)).json()["id"]
    await client.post(
        "/api/v1/users/me/tasks", json={"title": "local secret"}, headers=local_headers
    )
    impostor = bearer(issuer.token(local_id, email="impostor@example.com"))
    me = await client.get("/api/v1/users/me", headers=impostor)
    assert me.json()["id"] != local_id
    own = await client.get(f"/api/v1/users/{local_id}/tasks", headers=impostor)
    assert own.status_code == 200  # its own external id: its own (empty) list
    assert own.json()["items"] == []
    mine = await client.get("/api/v1/users/me/tasks", headers=local_headers)
    assert [t["title"] for t in mine.json()["items"]] == ["local secret"]


async def test_an_unverified_claim_on_an_existing_email_is_409_and_takes_nothing(
    client: httpx.AsyncClient, issuer: Issuer, sign_up: SignUp
) -> None:
    await sign_up(email="owner@example.com")
    token = issuer.token(email="owner@example.com", emailVerified=False)
    response = await client.get("/api/v1/users/me/tasks", headers=bearer(token))
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:todo:problem:identity-conflict"


async def test_a_bad_external_token_is_401(client: httpx.AsyncClient, issuer: Issuer) -> None:
    response = await client.get("/api/v1/users/me", headers=bearer(issuer.token(aud="x")))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_unreachable_jwks_for_an_unknown_key_is_503(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    known = bearer(issuer.token())
    assert (await client.get("/api/v1/users/me", headers=known)).status_code == 200
    issuer.reachable = False
    response = await client.get("/api/v1/users/me", headers=bearer(issuer.token(key=Key("ES256"))))
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:todo:problem:identity-provider-unavailable"
    assert "retry-after" in response.headers
    assert (await client.get("/api/v1/users/me", headers=known)).status_code == 200


async def test_password_routes_name_the_provider_of_an_external_account(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    headers = bearer(issuer.token())
    response = await client.post(
        "/api/v1/users/me/password",
        json={"current_password": "whatever it is", "new_password": "a new password 1"},
        headers=headers,
    )
    assert response.status_code == 409
    assert issuer.url in response.json()["detail"]
