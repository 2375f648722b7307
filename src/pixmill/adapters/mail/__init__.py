"""The mail port: send one plain-text message (password resets). One adapter, SMTP; without PIXMILL_SMTP_URL there is
no mailer, and what needs one says so."""

from __future__ import annotations

from typing import Protocol

from pixmill.errors import PixmillError


class MailUnavailable(PixmillError):
    """The message could not be handed to the mail server (or no mail server is configured)."""

    status, title, retry_after = 503, "Mail unavailable", 30
    log_message = "mail not sent"


class MailNotConfigured(PixmillError):
    """This server has no mail server, so what mails (password reset) is off: 404, as for a route it lacks."""

    status, title = 404, "Not available"


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None:
        """Hand one message to the mail server; raises MailUnavailable if it cannot."""
