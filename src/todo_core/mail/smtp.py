"""SMTP delivery through aiosmtplib (asyncio-native: no thread per message)."""

from __future__ import annotations

from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from enum import StrEnum

import aiosmtplib

from todo_core.ports import EmailMessage


class SmtpTls(StrEnum):
    NONE = "none"  # plain text: a relay on localhost or a test server only
    STARTTLS = "starttls"  # upgrade after connecting (usually port 587)
    TLS = "tls"  # TLS from the first byte (usually port 465)


class SmtpEmailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        tls: SmtpTls = SmtpTls.STARTTLS,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender, self._tls = host, port, sender, tls
        self._username, self._password, self._timeout = username, password, timeout

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            self._mime(message),
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._tls is SmtpTls.TLS,
            start_tls=self._tls is SmtpTls.STARTTLS,
            timeout=self._timeout,
        )

    def _mime(self, message: EmailMessage) -> MimeMessage:
        mime = MimeMessage()
        mime["From"] = self._sender
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2].strip("> ") or None)
        mime.set_content(message.text)
        return mime
