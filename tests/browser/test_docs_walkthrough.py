"""A newcomer, from /docs alone, in a real browser: sign up, Authorize with the password form,
then create, list, complete and delete a task. Runs in `nox -s docs` (which installs Chromium
and Playwright); skipped where neither is present."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
# Without the background-networking flags Chromium keeps dialling out, which this network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`todo dev` exactly as the README starts it, on a throwaway PostgreSQL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "todo_api.cli", "dev", "--port", str(port), "--no-seed"], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def operation(page: Any, method: str, path: str) -> Any:
    block = page.locator(f".opblock-{method}").filter(has=page.locator(f'[data-path="{path}"]'))
    block = block.first
    if not block.locator(".opblock-body").is_visible():
        block.locator(".opblock-summary").first.click()
    return block


def execute(block: Any, body: object = None, **params: str) -> tuple[int, str]:
    try_out = block.locator("button.try-out__btn")
    try_out.wait_for()  # the operation may still be unfolding
    if try_out.inner_text().strip() == "Try it out":  # once clicked, the button says Cancel
        try_out.click()
    if body is not None:
        block.locator("textarea.body-param__text").fill(json.dumps(body))
    for name, value in params.items():
        block.locator(f'tr[data-param-name="{name}"] input').fill(value)
    block.locator("button.execute").click()
    status_cell = block.locator(".live-responses-table tbody .response-col_status").first
    status_cell.wait_for()
    shown = block.locator(".live-responses-table .microlight")
    return int(
        status_cell.inner_text().strip()[:3]
    ), shown.first.inner_text() if shown.count() else ""


def test_a_newcomer_manages_a_task_from_the_docs_page(server: str) -> None:
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)  # a cold Chromium on a busy 2-core machine is slow
        page.goto(f"{server}/docs")
        page.locator(".opblock").first.wait_for()

        signup = operation(page, "post", "/api/v1/auth/signup")
        body = {"email": "newcomer@example.com", "password": "a good password"}
        assert execute(signup, body)[0] == 201

        page.locator("button.authorize").first.click()
        page.locator("#oauth_username").fill("newcomer@example.com")
        page.locator("#oauth_password").fill("a good password")
        page.locator(".auth-btn-wrapper button.authorize").click()
        page.locator(".auth-container button", has_text="Logout").wait_for()
        page.locator("button.btn-done").first.click()

        tasks, task = "/api/v1/users/{user_id}/tasks", "/api/v1/users/{user_id}/tasks/{task_id}"
        status, text = execute(
            operation(page, "post", tasks), {"title": "From the docs"}, user_id="me"
        )
        assert status == 201
        match = re.search(r'"id": "([0-9a-f-]{36})"', text)
        assert match is not None
        task_id = match.group(1)
        status, text = execute(operation(page, "get", tasks), user_id="me")
        assert (status, "From the docs" in text) == (200, True)
        status, text = execute(
            operation(page, "patch", task), {"completed": True}, user_id="me", task_id=task_id
        )
        assert (status, '"completed": true' in text) == (200, True)
        status, _ = execute(operation(page, "delete", task), user_id="me", task_id=task_id)
        assert status == 204
        browser.close()
