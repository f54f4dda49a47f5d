"""What a hosting platform needs from `todo serve`, on a real uvicorn process: it listens on
$PORT, and it believes X-Forwarded-For only from the proxies it is told to trust, so the
per-address login throttle (and the logs) see the real client."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import URL

from tests.support.servers import free_port, todo_serve


def _env(database_url: URL, **more: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url.render_as_string(hide_password=False), **more}


def test_serve_listens_on_port_from_the_environment(database_url: URL, tmp_path: Path) -> None:
    port = free_port()
    with todo_serve(tmp_path, env=_env(database_url, PORT=str(port)), port=port) as server:
        assert httpx.get(f"{server.base_url}/health").status_code == 200


def test_port_option_wins_over_the_environment(database_url: URL, tmp_path: Path) -> None:
    port, ignored = free_port(), free_port()
    env = _env(database_url, PORT=str(ignored))
    with todo_serve(tmp_path, args=["--port", str(port)], env=env, port=port) as server:
        assert httpx.get(f"{server.base_url}/health").status_code == 200
        try:
            httpx.get(f"http://127.0.0.1:{ignored}/health", timeout=1)
            raise AssertionError("also listening on $PORT")
        except httpx.TransportError:
            pass


def _failed_logins(base_url: str, forwarded_for: str, logins: list[str]) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base_url, headers={"X-Forwarded-For": forwarded_for}) as client:
        for login in logins:
            answer = client.post(
                "/api/v1/auth/login", data={"username": login, "password": "not the password"}
            )
            statuses.append(answer.status_code)
    return statuses


def _throttled_env(database_url: URL, allow: str) -> dict[str, str]:
    # 2 failures per address per minute; each attempt names a different account, so only the
    # per-address limit can answer 429.
    return _env(
        database_url,
        FORWARDED_ALLOW_IPS=allow,
        LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS="2",
        PASSWORD_HASH_ROUNDS="4",
    )


def test_a_trusted_proxy_is_believed(database_url: URL, tmp_path: Path) -> None:
    with todo_serve(tmp_path, env=_throttled_env(database_url, "127.0.0.1")) as server:
        first = _failed_logins(server.base_url, "203.0.113.7", ["a1@x.io", "a2@x.io", "a3@x.io"])
        assert first == [401, 401, 429]
        # another client behind the same proxy is not punished for the first one's failures
        assert _failed_logins(server.base_url, "198.51.100.9", ["b1@x.io"]) == [401]
        # the client is the rightmost address the proxy appended, not what the client claimed
        spoofed = _failed_logins(server.base_url, "198.51.100.9, 203.0.113.7", ["c1@x.io"])
        assert spoofed == [429]


def test_an_untrusted_proxy_is_not_believed(database_url: URL, tmp_path: Path) -> None:
    with todo_serve(tmp_path, env=_throttled_env(database_url, "192.0.2.1")) as server:
        assert _failed_logins(server.base_url, "203.0.113.7", ["d1@x.io", "d2@x.io"]) == [401, 401]
        # a made-up X-Forwarded-For does not give the same client a fresh allowance
        assert _failed_logins(server.base_url, "198.51.100.9", ["e1@x.io"]) == [429]


def test_two_app_processes_on_one_database_share_the_login_limit(
    database_url: URL, tmp_path: Path
) -> None:
    """The throttle lives in PostgreSQL: failures at one instance count at the other."""
    env = _env(database_url, LOGIN_ATTEMPTS_PER_MINUTE="3", PASSWORD_HASH_ROUNDS="4")
    with (
        todo_serve(tmp_path, env=env, name="one") as one,
        todo_serve(tmp_path, env=env, name="two") as two,
    ):
        victim = ["victim@x.io"]
        statuses = [
            *_failed_logins(one.base_url, "203.0.113.1", victim),
            *_failed_logins(two.base_url, "203.0.113.2", victim),
            *_failed_logins(one.base_url, "203.0.113.3", victim),
            *_failed_logins(two.base_url, "203.0.113.4", victim),
        ]
        assert statuses == [401, 401, 401, 429]
