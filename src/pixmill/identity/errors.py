"""The errors of identity: who is calling could not be established, or may not do this."""

from __future__ import annotations

from pixmill.errors import PixmillError


class Unauthenticated(PixmillError):
    """No valid credential (or one that is wrong, expired or revoked) where one is needed."""

    status, title = 401, "Unauthorized"


class Forbidden(PixmillError):
    """The caller is known but lacks the role or scope."""

    status, title = 403, "Forbidden"


class IdentityConflict(PixmillError):
    """An account with that e-mail exists already."""

    status, title = 409, "Conflict"


class InvalidIdentityInput(PixmillError):
    """A role or scope that does not exist, or more than the owner may grant."""

    status, title = 422, "Invalid input"


class IdentityProviderUnavailable(PixmillError):
    """The OpenID Connect provider (its discovery document, keys or token endpoint) could not be reached."""

    status, title, retry_after = 503, "Identity provider unavailable", 10
    log_message = "OpenID Connect provider unreachable"
