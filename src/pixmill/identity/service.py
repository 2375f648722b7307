"""Accounts and API keys: create them, and turn a credential into the principal that is calling."""

from __future__ import annotations

import hmac
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pixmill.context import Context
from pixmill.db.models import ApiKey, User
from pixmill.identity import api_keys, principal_cache, repository
from pixmill.identity.errors import IdentityConflict, InvalidIdentityInput, Unauthenticated
from pixmill.identity.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from pixmill.identity.principal import ALL_SCOPES, ROLES, Principal, scopes_of

# A key's last use is written at most this often, so a busy key does not write on every request.
_TOUCH_EVERY = timedelta(minutes=1)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def new_id() -> str:
    return uuid.uuid4().hex


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidIdentityInput(f"{email!r} is not an e-mail address")
    return email


def check_roles(roles: Iterable[str]) -> list[str]:
    out = sorted(set(roles) | {"user"})
    unknown = [r for r in out if r not in ROLES]
    if unknown:
        raise InvalidIdentityInput(f"unknown role(s) {unknown}; roles are {list(ROLES)}")
    return out


def check_password(password: str) -> None:
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidIdentityInput(f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters")


def create_user(
    ctx: Context,
    email: str,
    password: str | None,
    roles: Iterable[str] = ("user",),
    display_name: str = "",
) -> User:
    """A new local account (`password` None: it can sign in only through single sign-on)."""
    email = normalize_email(email)
    role_list = check_roles(roles)
    if password is not None:
        check_password(password)
    user = User(
        id=new_id(),
        email=email,
        display_name=display_name.strip() or email.split("@", 1)[0],
        password_hash=hash_password(password) if password is not None else None,
        roles=role_list,
        disabled=False,
    )
    with ctx.session() as s:
        if repository.user_by_email(s, email) is not None:
            raise IdentityConflict(f"an account with e-mail {email} exists already")
        repository.add(s, user)
        s.commit()
        s.refresh(user)
        s.expunge(user)
    return user


def create_api_key(
    ctx: Context,
    user_id: str,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the user and the token to hand out once (only its hash is kept)."""
    wanted = sorted(set(scopes))
    unknown = [s for s in wanted if s not in ALL_SCOPES]
    if unknown or not wanted:
        raise InvalidIdentityInput(f"unknown or no scope(s) {unknown}; scopes are {sorted(ALL_SCOPES)}")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidIdentityInput("expires_at is in the past")
    material = api_keys.new_key()
    with ctx.session() as s:
        user = repository.get_user(s, user_id)
        if user is None or user.disabled:
            raise InvalidIdentityInput("no such account")
        beyond = [sc for sc in wanted if sc not in scopes_of(frozenset(user.roles))]
        if beyond:
            raise InvalidIdentityInput(f"scope(s) {beyond} need a role this account does not have")
        key = ApiKey(
            id=new_id(),
            user_id=user_id,
            name=name.strip()[:200] or "key",
            prefix=material.prefix,
            secret_hash=material.hash,
            scopes=wanted,
            expires_at=expires_at,
        )
        repository.add(s, key)
        s.commit()
        s.refresh(key)
        s.expunge(key)
    return key, material.token


def principal_from_api_key(ctx: Context, token: str, now: datetime | None = None) -> Principal:
    """The principal an API key acts as: its user, within the key's scopes and the user's roles of today.

    Raises Unauthenticated for a key that is malformed, unknown, revoked, expired or whose user is disabled,
    with one message for all, so the answer says nothing about which keys exist."""
    parsed = api_keys.parse(token)
    if parsed is None:
        raise Unauthenticated("the API key is not valid")
    if now is None and (known := principal_cache.get(token)) is not None:
        return known
    prefix, secret = parsed
    now = now or datetime.now(UTC)
    with ctx.session() as s:
        found = repository.key_with_user(s, prefix)
        if found is None:
            raise Unauthenticated("the API key is not valid")
        key, user = found
        if (
            not hmac.compare_digest(key.secret_hash, api_keys.hash_secret(secret))
            or key.revoked_at is not None
            or (key.expires_at is not None and key.expires_at <= now)
            or user.disabled
        ):
            raise Unauthenticated("the API key is not valid (unknown, revoked or expired)")
        if key.last_used_at is None or now - key.last_used_at >= _TOUCH_EVERY:
            repository.touch_key(s, key.id, now)
            s.commit()
        roles = frozenset(user.roles) | {"user"}
        principal = Principal(
            via="api_key",
            user_id=user.id,
            roles=roles,
            scopes=frozenset(key.scopes) & scopes_of(roles),
            key_id=key.id,
            email=user.email,
        )
        principal_cache.remember(token, principal, ctx.settings.auth_cache_s, key.expires_at)
        return principal
