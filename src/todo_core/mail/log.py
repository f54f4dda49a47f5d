"""Development without an SMTP server: each email goes to the log, so its link can be
clicked from the console."""

from __future__ import annotations

import logging

from todo_core.ports import EmailMessage

log = logging.getLogger("todo.mail")


class LogEmailSender:
    async def send(self, message: EmailMessage) -> None:
        log.warning(
            "email not sent (no SMTP_HOST): to %s, subject %r\n%s",
            message.to,
            message.subject,
            message.text,
        )
