"""PIXMILL_REGISTRATION: open, invite (an admin's HMAC invite for one e-mail, 7 days), off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from pixmill.accounts import service
from pixmill.db.models import User
from tests.accounts.conftest import PASSWORD, csrf, db, register


def _admin(client: TestClient) -> None:
    """Register on an open app and make the account an admin (roles are read on every request)."""
    user = register(client, "root@example.org")
    with db(client) as s:
        s.get_one(User, user["id"]).roles = ["admin", "user"]
        s.commit()


def test_registration_off_is_refused_with_a_message(make_client: Any) -> None:
    r = make_client(registration="off").post(
        "/api/v1/auth/register", json={"email": "a@example.org", "password": PASSWORD}
    )
    assert r.status_code == 403 and "registration is closed" in r.json()["detail"]


def test_invite_mode_needs_an_admins_invite_for_that_email(make_client: Any) -> None:
    opened = make_client()
    _admin(opened)
    client = make_client(registration="invite")
    client.cookies.update(opened.cookies)  # the same admin's browser on the invite-mode app
    no_csrf = client.post("/api/v1/auth/invites", json={"email": "new@example.org"})
    assert no_csrf.status_code == 403
    r = client.post("/api/v1/auth/invites", json={"email": "New@Example.org"}, headers=csrf(client))
    assert r.status_code == 201, r.text
    invite = r.json()
    assert invite["email"] == "new@example.org"
    expires = datetime.fromisoformat(invite["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    client.cookies.clear()

    def attempt(email: str, token: str | None) -> Any:
        body = {"email": email, "password": PASSWORD, "invite": token}
        return client.post("/api/v1/auth/register", json=body)

    missing = attempt("new@example.org", None)
    assert missing.status_code == 403 and "by invite" in missing.json()["detail"]
    other = attempt("other@example.org", invite["invite"])
    assert other.status_code == 403 and "not valid for this e-mail" in other.json()["detail"]
    expires_at, mac = invite["invite"].split(".")
    forged = attempt("new@example.org", f"{int(expires_at) + 86400}.{mac}")
    assert forged.status_code == 403
    ok = attempt("NEW@example.org", invite["invite"])
    assert ok.status_code == 201, ok.text
    assert client.get("/api/v1/me").json()["email"] == "new@example.org"


def test_an_expired_invite_is_refused(make_client: Any) -> None:
    client = make_client(registration="invite")
    ctx = client.app.state.ctx
    _, token, _ = service.mint_invite(ctx, "late@example.org", now=datetime.now(UTC) - timedelta(days=8))
    r = client.post("/api/v1/auth/register", json={"email": "late@example.org", "password": PASSWORD, "invite": token})
    assert r.status_code == 403 and "expired" in r.json()["detail"]


def test_only_an_admin_may_invite(make_client: Any) -> None:
    client = make_client()
    assert client.post("/api/v1/auth/invites", json={"email": "x@example.org"}).status_code == 401
    register(client, "plain@example.org")
    r = client.post("/api/v1/auth/invites", json={"email": "x@example.org"}, headers=csrf(client))
    assert r.status_code == 403 and "admin" in r.json()["detail"]


def test_an_admins_key_invites_only_with_the_admin_scope(make_client: Any) -> None:
    client = make_client()
    _admin(client)
    keys = {}
    for scopes in (["jobs"], ["admin"]):
        r = client.post("/api/v1/api-keys", json={"name": "k", "scopes": scopes}, headers=csrf(client))
        keys[scopes[0]] = r.json()["key"]
    client.cookies.clear()
    jobs_only = client.post(
        "/api/v1/auth/invites", json={"email": "x@example.org"}, headers={"X-API-Key": keys["jobs"]}
    )
    assert jobs_only.status_code == 403 and "'admin' scope" in jobs_only.json()["detail"]
    ok = client.post("/api/v1/auth/invites", json={"email": "x@example.org"}, headers={"X-API-Key": keys["admin"]})
    assert ok.status_code == 201 and ok.json()["invite"]
