"""The errors of the account routes that identity's own do not cover."""

from __future__ import annotations

from pixmill.errors import PixmillError


class LoginThrottled(PixmillError):
    """Too many failed sign-ins lately, for the account or from the address; answered with Retry-After."""

    status, title = 429, "Too many requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ApiKeyNotFound(PixmillError):
    """No such key among those the caller may see (another user's key is answered the same)."""

    status, title = 404, "Not found"
