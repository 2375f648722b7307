"""Password reset by e-mail: a link with a signed, expiring token that works once.

The token signs the user's id, its expiry and a fingerprint of the user's current password hash: setting a new
password changes the hash, so a used link (and every other link sent before) stops working — single use with no
table. Asking for a reset answers the same whether the address has an account or not."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import quote

from pixmill.adapters.mail import MailNotConfigured
from pixmill.context import Context
from pixmill.identity import audit, browser_sessions, repository
from pixmill.identity.errors import InvalidIdentityInput
from pixmill.identity.passwords import hash_password
from pixmill.identity.service import check_password, normalize_email

_PURPOSE = b"pixmill password reset v1"


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def _sign(key: bytes, user_id: str, expires: int, fingerprint: str) -> str:
    message = b"|".join((_PURPOSE, user_id.encode(), str(expires).encode(), fingerprint.encode()))
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")


def make_token(ctx: Context, user_id: str, password_hash: str | None, now: float | None = None) -> str:
    expires = int((now or time.time()) + ctx.settings.password_reset_ttl_s)
    return f"{user_id}.{expires}.{_sign(ctx.settings.signing_key, user_id, expires, _fingerprint(password_hash))}"


def request_reset(ctx: Context, email: str, link_base: str, address: str | None = None) -> None:
    """E-mail a reset link to `email` if it has an account; nothing (and no hint) if not.

    link_base: where the link points (the web app's reset page); the token is appended as `?token=…`."""
    if ctx.mailer is None:
        raise MailNotConfigured("password reset by e-mail is off: this server has no mail server (PIXMILL_SMTP_URL)")
    try:
        email = normalize_email(email)
    except InvalidIdentityInput:
        return
    with ctx.session() as s:
        user = repository.user_by_email(s, email)
        if user is None or user.disabled:
            return
        token = make_token(ctx, user.id, user.password_hash)
        audit.record(s, "password_reset_requested", user_id=user.id, address=address)
        s.commit()
        to = user.email
    minutes = ctx.settings.password_reset_ttl_s // 60
    body = (
        "Someone (we hope you) asked to reset the password of your pixmill account.\n\n"
        f"Open this link within {minutes} minutes to choose a new one:\n{link_base}?token={quote(token)}\n\n"
        "The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n"
    )
    ctx.mailer.send(to, "Reset your pixmill password", body)


def confirm_reset(
    ctx: Context, token: str, new_password: str, address: str | None = None, now: float | None = None
) -> str:
    """Set the new password if the token is valid, unexpired and unused; sign out every browser of the account.
    Returns the user's id."""
    invalid = InvalidIdentityInput("the reset link is invalid, expired or already used: ask for a new one")
    try:
        user_id, expires_text, signature = token.split(".")
        expires = int(expires_text)
    except ValueError:
        raise invalid from None
    if expires < (now or time.time()):
        raise invalid
    check_password(new_password)
    with ctx.session() as s:
        user = repository.get_user(s, user_id)
        if user is None or user.disabled:
            raise invalid
        expected = _sign(ctx.settings.signing_key, user_id, expires, _fingerprint(user.password_hash))
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise invalid
        user.password_hash = hash_password(new_password)
        audit.record(s, "password_reset", user_id=user.id, address=address)
        s.commit()
    browser_sessions.end_all(ctx, user_id)
    return user_id
