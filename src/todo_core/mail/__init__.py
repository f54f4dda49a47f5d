"""Email delivery: adapters of the `EmailSender` port.

- `SmtpEmailSender` talks SMTP (aiosmtplib): plain, STARTTLS or implicit TLS.
- `LogEmailSender` writes each message, link included, to the log (development without SMTP).
- `BackgroundEmailSender` wraps either so that `send` returns at once: delivery runs in its
  own task, bounded in time, and a failure is logged, never raised into a request.
"""

from todo_core.mail.background import BackgroundEmailSender
from todo_core.mail.log import LogEmailSender
from todo_core.mail.smtp import SmtpEmailSender, SmtpTls

__all__ = ["BackgroundEmailSender", "LogEmailSender", "SmtpEmailSender", "SmtpTls"]
