"""API keys: what a key may do is its scopes within its user's roles of today; only a hash is stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.models import ApiKey, User
from pixmill.db.session import upgrade
from pixmill.identity import principal_cache, service
from pixmill.identity.errors import IdentityConflict, InvalidIdentityInput, Unauthenticated
from pixmill.identity.passwords import verify_password


@pytest.fixture
def ctx(settings: Settings) -> Iterator[Context]:
    c = Context.from_settings(settings)
    upgrade(c.engine)
    yield c
    c.close()


def test_a_key_acts_as_its_user_within_its_scopes_and_only_its_hash_is_stored(ctx: Context) -> None:
    user = service.create_user(ctx, "Ann@Example.org", "correct horse battery", roles=["staff"])
    assert user.email == "ann@example.org" and user.roles == ["staff", "user"]
    key, token = service.create_api_key(ctx, user.id, "shop", ["orders", "jobs"])
    principal = service.principal_from_api_key(ctx, token)
    assert principal.user_id == user.id and principal.key_id == key.id and principal.via == "api_key"
    assert principal.scopes == {"orders", "jobs"} and principal.is_staff and not principal.is_admin
    with ctx.session() as s:
        stored = s.scalars(select(ApiKey)).one()
        assert token.split("_")[-1] not in (stored.secret_hash, stored.prefix) and stored.last_used_at is not None
        hashed = s.scalars(select(User)).one().password_hash
        assert hashed is not None and hashed.startswith("$argon2id$")
        assert verify_password(hashed, "correct horse battery") and not verify_password(hashed, "wrong horse")


def test_wrong_revoked_expired_and_disabled_keys_are_refused(ctx: Context) -> None:
    user = service.create_user(ctx, "bob@example.org", "correct horse battery")
    _, token = service.create_api_key(ctx, user.id, "k", ["jobs"])
    prefix, secret = token.rsplit("_", 1)
    tampered = f"{prefix}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    for bad in (tampered, "pmk_nope", "not-a-key", token + "x"):
        with pytest.raises(Unauthenticated):
            service.principal_from_api_key(ctx, bad)
    later = datetime.now(UTC) + timedelta(days=2)
    key, soon = service.create_api_key(ctx, user.id, "k2", ["jobs"], expires_at=datetime.now(UTC) + timedelta(days=1))
    assert service.principal_from_api_key(ctx, soon).key_id == key.id
    with pytest.raises(Unauthenticated):
        service.principal_from_api_key(ctx, soon, now=later)
    with ctx.session() as s:
        s.get(User, user.id).disabled = True  # type: ignore[union-attr]
        s.commit()
    with pytest.raises(Unauthenticated):
        service.principal_from_api_key(ctx, token)


def test_a_key_never_has_more_than_its_user_may_grant(ctx: Context) -> None:
    user = service.create_user(ctx, "cy@example.org", None)
    with pytest.raises(InvalidIdentityInput, match="orders"):
        service.create_api_key(ctx, user.id, "k", ["orders"])
    with pytest.raises(InvalidIdentityInput):
        service.create_api_key(ctx, user.id, "k", ["no-such-scope"])
    staff = service.create_user(ctx, "dee@example.org", None, roles=["staff"])
    _, token = service.create_api_key(ctx, staff.id, "k", ["orders", "jobs"])
    with ctx.session() as s:  # demoted: the key loses what the role gave it
        s.get(User, staff.id).roles = ["user"]  # type: ignore[union-attr]
        s.commit()
    assert service.principal_from_api_key(ctx, token).scopes == {"jobs"}
    with pytest.raises(IdentityConflict):
        service.create_user(ctx, "DEE@example.org", None)
    with pytest.raises(InvalidIdentityInput):
        service.create_user(ctx, "eve@example.org", None, roles=["root"])


def test_a_resolved_key_is_remembered_briefly_and_forgotten_on_revocation(ctx: Context) -> None:
    user = service.create_user(ctx, "gus@example.org", None)
    key, token = service.create_api_key(ctx, user.id, "k", ["jobs"])
    assert service.principal_from_api_key(ctx, token).key_id == key.id
    with ctx.session() as s:  # gone from the database behind the services' back (another process revoked it)
        s.delete(s.get(ApiKey, key.id))
        s.commit()
    assert service.principal_from_api_key(ctx, token).key_id == key.id  # this process still remembers it
    principal_cache.forget(key_id=key.id)  # what a revocation through this process does
    with pytest.raises(Unauthenticated):
        service.principal_from_api_key(ctx, token)
