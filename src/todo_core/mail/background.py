"""Delivery off the request path: `send` schedules the message and returns."""

from __future__ import annotations

import asyncio
import logging

from todo_core.ports import EmailMessage, EmailSender

log = logging.getLogger("todo.mail")


class BackgroundEmailSender:
    def __init__(self, sender: EmailSender, *, timeout: float = 30.0) -> None:
        self._sender = sender
        self._timeout = timeout
        self._pending: set[asyncio.Task[None]] = set()  # held, so no task is collected early

    async def send(self, message: EmailMessage) -> None:
        task = asyncio.create_task(self._deliver(message))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait (bounded by the send timeout) for the messages still under way: on shutdown,
        and in tests."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=self._timeout)

    async def _deliver(self, message: EmailMessage) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._sender.send(message)
        except Exception as error:
            # The address is personal data and the body holds a token: neither is logged.
            log.error("email %r was not sent: %s: %s", message.subject, type(error).__name__, error)
