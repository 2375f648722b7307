"""Accounts: register (open, by invite, or not at all), sign in with a throttle on failures, sign out, and a
user's API keys. Every security event goes to the audit log in the same transaction as what it records."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pixmill.accounts import repository
from pixmill.accounts.errors import ApiKeyNotFound, LoginThrottled
from pixmill.context import Context
from pixmill.db.models import ApiKey, User
from pixmill.identity import audit, principal_cache
from pixmill.identity import browser_sessions as sessions
from pixmill.identity import repository as identity_repository
from pixmill.identity import service as identity
from pixmill.identity.errors import Forbidden, InvalidIdentityInput, Unauthenticated
from pixmill.identity.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from pixmill.identity.principal import Principal
from pixmill.tokens import tokens_equal

INVITE_TTL = timedelta(days=7)
_KEY_ID = re.compile(r"^[0-9a-f]{32}$")
_WRONG = "the e-mail address or the password is wrong"


@dataclass(frozen=True)
class SignIn:
    """A signed-in user and the new session's cookie token and CSRF token."""

    user: User
    token: str
    csrf: str


def _now() -> datetime:
    return datetime.now(UTC)


# --- invites -----------------------------------------------------------------------------------------------------


def _invite_mac(ctx: Context, email: str, expires: int) -> str:
    message = f"pixmill-invite\n{email}\n{expires}".encode()
    return hmac.new(ctx.settings.signing_key, message, hashlib.sha256).hexdigest()


def mint_invite(ctx: Context, email: str, now: datetime | None = None) -> tuple[str, str, datetime]:
    """An invite for `email`, valid for 7 days: (the normalized e-mail, the invite, its expiry). Nothing is stored:
    the invite is an HMAC with the server's secret over the e-mail and the expiry."""
    email = identity.normalize_email(email)
    expires = math.floor(((now or _now()) + INVITE_TTL).timestamp())
    return email, f"{expires}.{_invite_mac(ctx, email, expires)}", datetime.fromtimestamp(expires, UTC)


def _check_invite(ctx: Context, email: str, invite: str | None, now: datetime) -> None:
    if not invite:
        raise Forbidden("registration is by invite on this server: ask an admin for an invite and send it as `invite`")
    expires_text, _, mac = invite.partition(".")
    if (
        not expires_text.isdigit()
        or len(expires_text) > 12
        or not tokens_equal(_invite_mac(ctx, email, int(expires_text)), mac)
    ):
        raise Forbidden("the invite is not valid for this e-mail address")
    if int(expires_text) <= now.timestamp():
        raise Forbidden("the invite has expired: ask an admin for a new one")


# --- registration and sign-in ------------------------------------------------------------------------------------


def create_account(
    ctx: Context,
    email: str,
    password: str | None,
    roles: Sequence[str] = ("user",),
    display_name: str = "",
    address: str | None = None,
    via: str = "api",
) -> User:
    """A new account (identity's create_user), with its `registered` audit event."""
    user = identity.create_user(ctx, email, password, roles=roles, display_name=display_name)
    with ctx.session() as s:
        audit.record(s, "registered", user_id=user.id, address=address, via=via)
        s.commit()
    return user


def register(
    ctx: Context, email: str, password: str, display_name: str, invite: str | None, address: str | None
) -> SignIn:
    """Register a local account as PIXMILL_REGISTRATION allows, and sign it in."""
    mode = ctx.settings.registration
    if mode == "off":
        raise Forbidden("registration is closed on this server: an admin creates accounts (pixmill users create)")
    if mode == "invite":
        _check_invite(ctx, identity.normalize_email(email), invite, _now())
    user = create_account(ctx, email, password, display_name=display_name, address=address)
    token, csrf = sessions.start(ctx, user.id)
    return SignIn(user, token, csrf)


def _throttle(ctx: Context, count: int, latest: datetime | None, limit: int, now: datetime) -> int | None:
    """Seconds left to wait, or None: from `limit` failures on, the wait after the latest one is the backoff,
    doubled for each failure beyond the limit, up to the cap."""
    if count < limit or latest is None:
        return None
    s = ctx.settings
    delay = min(s.login_backoff_max_s, s.login_backoff_s * 2 ** min(count - limit, 32))
    left = (latest + timedelta(seconds=delay) - now).total_seconds()
    return math.ceil(left) if left > 0 else None


def login(ctx: Context, email: str, password: str, address: str | None) -> SignIn:
    """Check a password and sign the account in. An unknown e-mail, a wrong password, an account without a
    password or a disabled one get the same answer after the same work (a hash verified)."""
    settings = ctx.settings
    email = email.strip().lower()
    now = _now()
    since = now - timedelta(seconds=settings.login_failure_window_s)
    with ctx.session() as s:
        user = identity_repository.user_by_email(s, email)
        count, latest = repository.failures_of_account(s, since, user.id if user else None, email)
        wait = _throttle(ctx, count, latest, settings.login_max_failures_account, now)
        if wait is not None:
            raise LoginThrottled(f"too many failed sign-ins to this account: try again in {wait} s", wait)
        if address is not None:
            count, latest = repository.failures_from(s, since, address)
            wait = _throttle(ctx, count, latest, settings.login_max_failures_address, now)
            if wait is not None:
                raise LoginThrottled(f"too many failed sign-ins from this address: try again in {wait} s", wait)
        stored = user.password_hash if user is not None and not user.disabled else None
        matches = verify_password(stored or DUMMY_HASH, password)
        if user is None or stored is None or not matches:
            detail = {} if user is not None else {"email": email[:320]}
            audit.record(s, "login_failed", user_id=user.id if user else None, address=address, **detail)
            s.commit()
            raise Unauthenticated(_WRONG)
        if needs_rehash(stored):
            user.password_hash = hash_password(password)
        audit.record(s, "login", user_id=user.id, address=address)
        s.commit()
        s.refresh(user)
        s.expunge(user)
    token, csrf = sessions.start(ctx, user.id)
    return SignIn(user, token, csrf)


def logout(ctx: Context, token: str | None, principal: Principal, address: str | None) -> None:
    """End the browser session the caller signed in with; a caller without one (anonymous, an API key) ends
    nothing."""
    if token is None or principal.user_id is None or principal.via not in ("session", "sso"):
        return
    sessions.end(ctx, token)
    with ctx.session() as s:
        audit.record(s, "logout", user_id=principal.user_id, address=address)
        s.commit()


def me(ctx: Context, principal: Principal) -> User:
    """The signed-in caller's account."""
    if principal.user_id is None:
        raise Unauthenticated("sign in, or send an API key (Authorization: Bearer pmk_…)")
    with ctx.session() as s:
        user = identity_repository.get_user(s, principal.user_id)
        if user is None:
            raise Unauthenticated("the account no longer exists")
        s.expunge(user)
    return user


# --- API keys ----------------------------------------------------------------------------------------------------


def _may_administer(principal: Principal) -> bool:
    """An admin acting with the admin scope (a session, or an API key made with it)."""
    return principal.is_admin and principal.allows("admin")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise InvalidIdentityInput("expires_at is out of range") from None


def create_key(
    ctx: Context,
    principal: Principal,
    name: str,
    scopes: Sequence[str],
    expires_at: datetime | None,
    address: str | None,
) -> tuple[ApiKey, str]:
    """A new API key of the caller's own, and the key to show once. Only a signed-in browser (session or SSO) or
    an API key with the admin scope may make one: a plain key cannot breed keys."""
    if principal.user_id is None:
        raise Unauthenticated("sign in to create an API key")
    if principal.via == "api_key" and not principal.allows("admin"):
        raise Forbidden("an API key can create keys only with the 'admin' scope; sign in instead")
    key, token = identity.create_api_key(ctx, principal.user_id, name, scopes, _utc(expires_at))
    with ctx.session() as s:
        audit.record(
            s, "api_key_created", user_id=principal.user_id, address=address, key_id=key.id, scopes=list(key.scopes)
        )
        s.commit()
    return key, token


def list_keys(ctx: Context, principal: Principal) -> Sequence[ApiKey]:
    """The caller's keys that are not revoked."""
    if principal.user_id is None:
        raise Unauthenticated("sign in, or send an API key, to list your API keys")
    with ctx.session() as s:
        keys = identity_repository.keys_of(s, principal.user_id)
        s.expunge_all()
    return keys


def revoke_key(ctx: Context, principal: Principal, key_id: str, address: str | None) -> None:
    """Revoke one of the caller's keys (an admin: anyone's); any other id is answered as missing."""
    if principal.user_id is None:
        raise Unauthenticated("sign in, or send an API key, to revoke an API key")
    missing = ApiKeyNotFound(f"no API key {key_id[:64]!r} of yours")
    if not _KEY_ID.match(key_id):
        raise missing
    with ctx.session() as s:
        key = identity_repository.get_key(s, key_id)
        if key is None or key.revoked_at is not None:
            raise missing
        if key.user_id != principal.user_id and not _may_administer(principal):
            raise missing
        repository.revoke_key(s, key_id, _now())
        actor = principal.user_id if principal.user_id != key.user_id else None
        audit.record(s, "api_key_revoked", user_id=key.user_id, actor_id=actor, address=address, key_id=key_id)
        s.commit()
    principal_cache.forget(key_id=key_id)
