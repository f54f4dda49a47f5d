"""Email delivery: SMTP to a real aiosmtpd server in this process, and the background wrapper
that keeps slow or failing servers off the request path."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from tests.support.smtp import smtp_server
from todo_api.tokens import TokenService
from todo_core import AccountEmails, EmailMessage
from todo_core.mail import BackgroundEmailSender, LogEmailSender, SmtpEmailSender, SmtpTls
from todo_core.testing import FixedClock

MESSAGE = EmailMessage(to="ann@example.com", subject="Hello", text="Open https://x/?token=abc\n")


async def test_smtp_delivers_to_a_real_server() -> None:
    async with smtp_server() as inbox:
        sender = SmtpEmailSender(
            host=inbox.host,
            port=inbox.port,
            sender="todo <no-reply@todo.example>",
            tls=SmtpTls.NONE,
        )
        await sender.send(MESSAGE)
        received = await inbox.wait_for("ann@example.com")
    assert received.subject == "Hello"
    assert received.token == "abc"


class _Slow:
    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def send(self, message: EmailMessage) -> None:
        self.started.set()
        await asyncio.sleep(3600)


async def test_background_sending_returns_at_once_and_logs_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = _Slow()
    sender = BackgroundEmailSender(slow, timeout=0.05)
    caplog.set_level(logging.ERROR, logger="todo.mail")
    async with asyncio.timeout(1):
        await sender.send(MESSAGE)  # returns although delivery never finishes
    await slow.started.wait()
    await sender.drain()
    assert any("'Hello' was not sent: TimeoutError" in r.getMessage() for r in caplog.records)
    assert all("ann@example.com" not in r.getMessage() for r in caplog.records)


async def test_the_log_sender_shows_the_link(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="todo.mail")
    await LogEmailSender().send(MESSAGE)
    assert "https://x/?token=abc" in caplog.text


def test_links_carry_the_token_under_the_public_url() -> None:
    emails = AccountEmails(public_url="https://app.example/")
    message = emails.password_reset(to="a@b.c", token="t0k-en_", lifetime=timedelta(hours=1))
    assert "https://app.example/reset-password?token=t0k-en_" in message.text
    assert "1 hour" in message.text


async def test_access_tokens_carry_their_issue_time_to_the_microsecond() -> None:
    moment = datetime(2025, 11, 30, 6, 0, 0, 123457, tzinfo=UTC)
    clock = FixedClock(moment)
    tokens = TokenService(
        secret="s" * 20 + "0123456789abcdef",
        lifetime=timedelta(days=36500),
        issuer="t",
        clock=clock,
    )
    session = uuid4()
    claims = await tokens.verify(tokens.issue(user_id=uuid4(), session_id=session).access_token)
    assert claims.issued_at == moment
    assert claims.session_id == session
