"""A user's API keys over HTTP: create (shown once), list (never the secret), revoke; who may do which."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pixmill.db.models import AuditEvent, User
from tests.accounts.conftest import csrf, db, register


def _create(client: TestClient, **body: Any) -> Any:
    payload = {"name": "laptop", "scopes": ["jobs", "assets"], **body}
    return client.post(
        "/api/v1/api-keys", json=payload, headers=csrf(client) if "pixmill_csrf" in client.cookies else {}
    )


def test_create_list_use_and_revoke_a_key(make_client: Any) -> None:
    client = make_client()
    user = register(client, "ann@example.org")
    r = _create(client, expires_at="2099-01-01T00:00:00Z")
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith(f"pmk_{created['prefix']}_") and created["scopes"] == ["assets", "jobs"]
    assert created["expires_at"].startswith("2099-01-01T00:00:00")

    listed = client.get("/api/v1/api-keys").json()
    assert [k["id"] for k in listed] == [created["id"]]
    assert set(listed[0]) == {"id", "name", "prefix", "scopes", "created_at", "last_used_at", "expires_at"}
    assert key.rsplit("_", 1)[1] not in str(listed)

    bearer = TestClient(client.app, headers={"Authorization": f"Bearer {key}"})
    me = bearer.get("/api/v1/me").json()
    assert me["via"] == "api_key" and me["id"] == user["id"] and me["scopes"] == ["assets", "jobs"]
    other_header = TestClient(client.app, headers={"X-API-Key": key})
    assert other_header.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/api-keys").json()[0]["last_used_at"] is not None

    assert client.delete(f"/api/v1/api-keys/{created['id']}").status_code == 403  # cookie without CSRF header
    assert client.delete(f"/api/v1/api-keys/{created['id']}", headers=csrf(client)).status_code == 204
    assert bearer.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/api-keys").json() == []
    gone = client.delete(f"/api/v1/api-keys/{created['id']}", headers=csrf(client))
    assert gone.status_code == 404
    with db(client) as s:
        events = [e.event for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == ["registered", "api_key_created", "api_key_revoked"]


def test_a_cookie_only_post_is_refused_and_the_header_makes_it_work(make_client: Any) -> None:
    client = make_client()
    register(client, "bo@example.org")
    refused = client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["jobs"]})
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["jobs"]}, headers={"X-CSRF-Token": "no"})
    assert wrong.status_code == 403
    assert (
        client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["jobs"]}, headers=csrf(client)).status_code == 201
    )


def test_bad_keys_requests_are_4xx_with_a_message(make_client: Any) -> None:
    client = make_client()
    assert client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["jobs"]}).status_code == 401
    assert client.get("/api/v1/api-keys").status_code == 401
    register(client, "cy@example.org")
    beyond = _create(client, scopes=["orders"])
    assert beyond.status_code == 422 and "need a role" in beyond.json()["detail"]
    unknown = _create(client, scopes=["root"])
    assert unknown.status_code == 422 and "scope" in unknown.json()["detail"]
    past = _create(client, expires_at="2000-01-01T00:00:00Z")
    assert past.status_code == 422 and "past" in past.json()["detail"]
    naive = _create(client, expires_at="2099-01-01T00:00:00")  # taken as UTC
    assert naive.status_code == 201 and naive.json()["expires_at"].startswith("2099-01-01T00:00:00")
    edge = _create(client, expires_at="9999-12-31T23:59:59-23:59")
    assert edge.status_code == 422 and "out of range" in edge.json()["detail"]
    assert client.delete("/api/v1/api-keys/not-an-id", headers=csrf(client)).status_code == 404


def test_only_a_signed_in_user_or_an_admin_scoped_key_creates_keys(make_client: Any) -> None:
    client = make_client()
    user = register(client, "dee@example.org")
    plain = _create(client, scopes=["jobs"]).json()["key"]
    with_key = TestClient(client.app, headers={"Authorization": f"Bearer {plain}"})
    refused = with_key.post("/api/v1/api-keys", json={"name": "k", "scopes": ["jobs"]})
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert with_key.get("/api/v1/api-keys").status_code == 200  # listing its user's keys is fine
    with db(client) as s:
        s.get_one(User, user["id"]).roles = ["admin", "user"]
        s.commit()
    admin_key = _create(client, scopes=["admin"]).json()["key"]
    as_admin = TestClient(client.app, headers={"Authorization": f"Bearer {admin_key}"})
    made = as_admin.post("/api/v1/api-keys", json={"name": "ci", "scopes": ["jobs"]})
    assert made.status_code == 201, made.text  # no CSRF header: an API key is no ambient credential


def test_another_users_key_is_404_and_an_admin_may_revoke_it(make_client: Any) -> None:
    client = make_client()
    register(client, "eve@example.org")
    eves = _create(client).json()
    eve_cookies = dict(client.cookies)
    client.cookies.clear()
    register(client, "fay@example.org")
    r = client.delete(f"/api/v1/api-keys/{eves['id']}", headers=csrf(client))
    assert r.status_code == 404 and "of yours" in r.json()["detail"]
    assert [k["id"] for k in client.get("/api/v1/api-keys").json()] == []  # only one's own keys
    with db(client) as s:
        s.get_one(User, client.get("/api/v1/me").json()["id"]).roles = ["admin", "user"]
        s.commit()
    assert client.delete(f"/api/v1/api-keys/{eves['id']}", headers=csrf(client)).status_code == 204
    client.cookies.clear()
    client.cookies.update(eve_cookies)
    assert client.get("/api/v1/api-keys").json() == []
