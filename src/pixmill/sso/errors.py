"""The errors of the browser sign-on flow."""

from __future__ import annotations

from pixmill.errors import PixmillError


class SsoNotConfigured(PixmillError):
    """Single sign-on is off: no OpenID Connect issuer or client id is set."""

    status, title = 404, "Not found"

    def __init__(self) -> None:
        super().__init__("single sign-on is not configured (set PIXMILL_OIDC_ISSUER and PIXMILL_OIDC_CLIENT_ID)")


class SignInFailed(PixmillError):
    """The provider's answer cannot finish a sign-in: a wrong or missing state, an error from the provider, a code
    it would not exchange, or an ID token that does not verify."""

    status, title = 400, "Sign-in failed"
