"""The account emails: what they say and where their links point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from todo_core.ports import EmailMessage


@dataclass(frozen=True, kw_only=True)
class AccountEmails:
    """`public_url` is the base of every link (a front end, or this API in development);
    links carry `token=<token>` in their query."""

    public_url: str = "http://127.0.0.1:8000"
    product: str = "todo"
    reset_path: str = "/reset-password"
    verify_path: str = "/verify-email"

    def link(self, path: str, token: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"

    def password_reset(self, *, to: str, token: str, lifetime: timedelta) -> EmailMessage:
        return EmailMessage(
            to=to,
            subject=f"Reset your {self.product} password",
            text=(
                f"Someone asked to reset the password of your {self.product} account.\n\n"
                f"To choose a new password, open this link within {_span(lifetime)}:\n"
                f"{self.link(self.reset_path, token)}\n\n"
                "If it was not you, ignore this email: your password stays as it is.\n"
            ),
        )

    def verification(self, *, to: str, token: str, lifetime: timedelta) -> EmailMessage:
        return EmailMessage(
            to=to,
            subject=f"Confirm your email address for {self.product}",
            text=(
                f"Please confirm that this address belongs to your {self.product} account.\n\n"
                f"Open this link within {_span(lifetime)}:\n"
                f"{self.link(self.verify_path, token)}\n\n"
                "If you did not sign up, ignore this email.\n"
            ),
        )


def _span(lifetime: timedelta) -> str:
    minutes = int(lifetime.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return _plural(minutes // (24 * 60), "day")
    if minutes % 60 == 0:
        return _plural(minutes // 60, "hour")
    return _plural(minutes, "minute")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
