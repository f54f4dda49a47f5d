"""A real SMTP server (aiosmtpd) in the test process, on a free loopback port, keeping what
it receives so tests can read the emails the app sent."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

_TOKEN = re.compile(r"[?&]token=([A-Za-z0-9_\-]+)")


@dataclass
class Received:
    to: str
    subject: str
    text: str
    link: str | None

    @property
    def token(self) -> str:
        found = _TOKEN.search(self.link or "")
        assert found, f"no token in the link of {self.subject!r}"
        return found.group(1)


class Inbox:
    """The aiosmtpd handler: every accepted message, parsed."""

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self._arrived = asyncio.Condition()
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        mime = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mime, EmailMessage)
        body = mime.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        link = next((word for word in text.split() if "token=" in word), None)
        async with self._arrived:
            self.messages.append(Received(str(mime["To"]), str(mime["Subject"]), text, link))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    async def wait_for(self, to: str, *, subject: str = "", within: float = 10.0) -> Received:
        """The first message to `to` whose subject contains `subject`; removed from the inbox."""

        def match() -> Received | None:
            return next(
                (m for m in self.messages if m.to == to and subject.lower() in m.subject.lower()),
                None,
            )

        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: match() is not None)
        found = match()
        assert found is not None
        self.messages.remove(found)
        return found

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if m.to == address]


@asynccontextmanager
async def smtp_server() -> AsyncIterator[Inbox]:
    """An SMTP server on 127.0.0.1 and a port the OS picked, in this event loop."""
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(inbox, hostname="localhost", enable_SMTPUTF8=True), inbox.host, 0
    )
    inbox.port = server.sockets[0].getsockname()[1]
    try:
        yield inbox
    finally:
        server.close()
        await server.wait_closed()
