"""Browser sessions: a random token in an HttpOnly cookie, its SHA-256 in `browser_sessions`, and a CSRF token
the page echoes in a header on every state-changing request (double submit, checked against the row)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from starlette.responses import Response

from pixmill.context import Context
from pixmill.db.models import BrowserSession, User
from pixmill.identity.principal import Principal, Via, scopes_of

SESSION_COOKIE = "pixmill_session"
CSRF_COOKIE = "pixmill_csrf"  # readable by the page's script, which sends it back as CSRF_HEADER
CSRF_HEADER = "X-CSRF-Token"
# The expiry slides on use, written at most this often.
_SLIDE_EVERY = timedelta(minutes=5)


def _id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ttl_of(ctx: Context) -> timedelta:
    """How long a session lasts unused: PIXMILL_SESSION_TTL_HOURS."""
    return timedelta(hours=ctx.settings.session_ttl_hours)


def start(ctx: Context, user_id: str, via: Via = "session", ttl: timedelta | None = None) -> tuple[str, str]:
    """A new session for the user: (the cookie's token, the CSRF token); `ttl` defaults to the setting."""
    ttl = ttl or ttl_of(ctx)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with ctx.session() as s:
        s.add(
            BrowserSession(
                id=_id(token),
                user_id=user_id,
                csrf_token=csrf,
                via=via,
                created_at=now,
                last_seen_at=now,
                expires_at=now + ttl,
            )
        )
        s.commit()
    return token, csrf


def resolve(
    ctx: Context, token: str, now: datetime | None = None, ttl: timedelta | None = None
) -> tuple[Principal, str] | None:
    """The principal a session cookie stands for and the session's CSRF token; None for an unknown, expired or
    ended session, or one whose user is disabled. Its expiry slides to `ttl` (default: the setting) from now."""
    now = now or datetime.now(UTC)
    ttl = ttl or ttl_of(ctx)
    with ctx.session() as s:
        row = s.execute(
            select(BrowserSession, User)
            .join(User, User.id == BrowserSession.user_id)
            .where(BrowserSession.id == _id(token))
        ).first()
        if row is None:
            return None
        session, user = row[0], row[1]
        if session.expires_at <= now or user.disabled:
            return None
        if now - session.last_seen_at >= _SLIDE_EVERY:
            s.execute(
                update(BrowserSession)
                .where(BrowserSession.id == session.id)
                .values(last_seen_at=now, expires_at=now + ttl)
            )
            s.commit()
        roles = frozenset(user.roles) | {"user"}
        via: Via = "sso" if session.via == "sso" else "session"
        principal = Principal(via=via, user_id=user.id, roles=roles, scopes=scopes_of(roles), email=user.email)
        return principal, session.csrf_token


def end(ctx: Context, token: str) -> None:
    """Sign the session out (its cookie opens nothing from now on)."""
    with ctx.session() as s:
        s.execute(delete(BrowserSession).where(BrowserSession.id == _id(token)))
        s.commit()


def end_all(ctx: Context, user_id: str) -> None:
    """Sign out every browser of the user (after a password reset, say)."""
    with ctx.session() as s:
        s.execute(delete(BrowserSession).where(BrowserSession.user_id == user_id))
        s.commit()


def csrf_ok(expected: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(expected.encode(), (sent or "").encode())


def set_cookies(response: Response, token: str, csrf: str, secure: bool, ttl: timedelta) -> None:
    """The session cookie (HttpOnly, SameSite=Lax; Secure behind https) and the CSRF cookie the page reads."""
    age = int(ttl.total_seconds())
    response.set_cookie(SESSION_COOKIE, token, max_age=age, httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=age, httponly=False, samesite="lax", secure=secure, path="/")


def clear_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
