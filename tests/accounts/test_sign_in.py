"""Register, sign in and out, /me, the cookies and their CSRF token, and the sign-in throttle."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from pixmill.db.models import AuditEvent, BrowserSession, User
from pixmill.identity.passwords import verify_password
from tests.accounts.conftest import PASSWORD, csrf, db, register


def _events(client: TestClient) -> list[tuple[str, str | None, str | None]]:
    with db(client) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.event, e.user_id, e.address) for e in rows]


def _set_cookie_headers(response: Any) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_register_signs_in_and_me_answers_who_is_calling(make_client: Any) -> None:
    client = make_client()
    body = register(client, "Ann@Example.org", display_name="Ann")
    assert body["email"] == "ann@example.org" and body["display_name"] == "Ann" and body["roles"] == ["user"]
    assert body["csrf_token"] == client.cookies["pixmill_csrf"] and client.cookies["pixmill_session"]
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": body["id"],
        "email": "ann@example.org",
        "display_name": "Ann",
        "roles": ["user"],
        "scopes": ["assets", "jobs", "library", "render:sign"],
        "via": "session",
    }
    assert _events(client) == [("registered", body["id"], "testclient")]
    again = client.post("/api/v1/auth/register", json={"email": "ANN@example.org", "password": PASSWORD})
    assert again.status_code == 409 and "exists" in again.json()["detail"]


def test_register_refuses_bad_input_with_a_message(make_client: Any) -> None:
    client = make_client()
    short = client.post("/api/v1/auth/register", json={"email": "bo@example.org", "password": "short"})
    assert short.status_code == 422 and "10 to 1024 characters" in short.json()["detail"]
    bad = client.post("/api/v1/auth/register", json={"email": "no-at-sign", "password": PASSWORD})
    assert bad.status_code == 422 and "not an e-mail address" in bad.json()["detail"]
    surrogate = client.post(
        "/api/v1/auth/register",
        content=b'{"email": "cy@example.org", "password": "abcdefghijk\\ud800"}',
        headers={"Content-Type": "application/json"},
    )
    assert surrogate.status_code == 422 and "body.password" in surrogate.json()["detail"]
    control = client.post("/api/v1/auth/register", json={"email": "d\u0000y@example.org", "password": PASSWORD})
    assert control.status_code == 422 and "control characters" in control.json()["detail"]


def test_anonymous_me_is_401(make_client: Any) -> None:
    r = make_client().get("/api/v1/me")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_login_sets_httponly_lax_cookies_and_logout_ends_the_session(make_client: Any) -> None:
    client = make_client()
    user = register(client, "dee@example.org")
    client.cookies.clear()
    r = client.post("/api/v1/auth/login", json={"email": "DEE@example.org", "password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == user["id"] and r.json()["csrf_token"] == client.cookies["pixmill_csrf"]
    cookies = _set_cookie_headers(r)
    session, token = cookies["pixmill_session"].lower(), cookies["pixmill_csrf"].lower()
    assert "httponly" in session and "samesite=lax" in session and "secure" not in session
    assert "max-age=1209600" in session  # PIXMILL_SESSION_TTL_HOURS' 336 hours
    assert "httponly" not in token and "samesite=lax" in token
    cookie = client.cookies["pixmill_session"]

    refused = client.post("/api/v1/auth/logout")  # the cookie alone: what a cross-site form would send
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert client.get("/api/v1/me").status_code == 200  # still signed in
    out = client.post("/api/v1/auth/logout", headers=csrf(client))
    assert out.status_code == 204
    assert "pixmill_session" not in client.cookies
    with db(client) as s:
        assert len(s.scalars(select(BrowserSession)).all()) == 1  # registration's, whose cookie was dropped
    client.cookies.set("pixmill_session", cookie)  # the old cookie opens nothing any more
    assert client.get("/api/v1/me").status_code == 401
    assert [e[0] for e in _events(client)] == ["registered", "login", "logout"]


def test_cookies_are_secure_on_https(make_client: Any) -> None:
    client = make_client(base_url="https://testserver")
    r = client.post("/api/v1/auth/register", json={"email": "eve@example.org", "password": PASSWORD})
    assert r.status_code == 201, r.text
    for header in _set_cookie_headers(r).values():
        assert "; secure" in header.lower()


def test_session_ttl_is_the_setting(make_client: Any) -> None:
    client = make_client(session_ttl_hours=2)
    r = client.post("/api/v1/auth/register", json={"email": "fay@example.org", "password": PASSWORD})
    assert "max-age=7200" in _set_cookie_headers(r)["pixmill_session"].lower()
    with db(client) as s:
        row = s.scalars(select(BrowserSession)).one()
        assert 7190 <= (row.expires_at - row.created_at).total_seconds() <= 7210


def test_unknown_email_and_wrong_password_get_the_same_401_after_the_same_work(make_client: Any) -> None:
    client = make_client(login_max_failures_account=100, login_max_failures_address=100)
    register(client, "gil@example.org")
    client.cookies.clear()

    def attempt(email: str) -> tuple[float, Any]:
        started = time.perf_counter()
        r = client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password!"})
        return time.perf_counter() - started, r

    wrong = [attempt("gil@example.org") for _ in range(3)]
    unknown = [attempt("nobody@example.org") for _ in range(3)]
    for _, r in wrong + unknown:
        assert r.status_code == 401 and "pixmill_session" not in r.headers.get("set-cookie", "")
    assert {r.json()["detail"] for _, r in wrong + unknown} == {"the e-mail address or the password is wrong"}
    # both verify an argon2id hash (64 MiB, ~50 ms or more); without the dummy hash an unknown e-mail took ~2 ms
    assert statistics.median(t for t, _ in unknown) > 0.5 * statistics.median(t for t, _ in wrong)
    failed = [e for e in _events(client) if e[0] == "login_failed"]
    assert len(failed) == 6 and all(address == "testclient" for _, _, address in failed)


def test_a_disabled_account_and_one_without_a_password_cannot_sign_in(make_client: Any) -> None:
    client = make_client()
    user = register(client, "hal@example.org")
    with db(client) as s:
        s.get_one(User, user["id"]).disabled = True
        s.commit()
    r = client.post("/api/v1/auth/login", json={"email": "hal@example.org", "password": PASSWORD})
    assert r.status_code == 401 and client.get("/api/v1/me").status_code == 401


def test_an_old_hash_is_replaced_at_login(make_client: Any) -> None:
    from argon2 import PasswordHasher

    client = make_client()
    user = register(client, "ida@example.org")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with db(client) as s:
        s.get_one(User, user["id"]).password_hash = weak
        s.commit()
    r = client.post("/api/v1/auth/login", json={"email": "ida@example.org", "password": PASSWORD})
    assert r.status_code == 200
    with db(client) as s:
        stored = s.get_one(User, user["id"]).password_hash
        assert stored is not None and stored != weak and "m=65536" in stored and verify_password(stored, PASSWORD)


def _login(client: TestClient, email: str, password: str = "wrong password!") -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_failures_throttle_the_account_with_retry_after_and_a_doubling_backoff(make_client: Any) -> None:
    client = make_client(login_max_failures_account=3, login_backoff_s=40, login_backoff_max_s=100)
    register(client, "jo@example.org")
    for _ in range(3):
        assert _login(client, "jo@example.org").status_code == 401
    throttled = _login(client, "jo@example.org", PASSWORD)  # even the right password waits
    assert throttled.status_code == 429
    assert 30 <= int(throttled.headers["Retry-After"]) <= 40
    assert "this account" in throttled.json()["detail"] and throttled.json()["status"] == 429
    # an unknown e-mail is throttled the same way (no telling which accounts exist)
    for _ in range(3):
        assert _login(client, "ghost@example.org").status_code == 401
    assert _login(client, "ghost@example.org").status_code == 429
    # another process on the same database counts the same failures
    other = make_client(login_max_failures_account=3, login_backoff_s=40, login_backoff_max_s=100)
    assert _login(other, "jo@example.org").status_code == 429
    # one more failure after the wait doubles it (capped): move the failures back in time
    _shift_failures(client, seconds=41)
    assert _login(client, "jo@example.org").status_code == 401  # the 4th failure
    again = _login(client, "jo@example.org")
    assert again.status_code == 429 and 70 <= int(again.headers["Retry-After"]) <= 80
    _shift_failures(client, seconds=81)
    assert _login(client, "jo@example.org").status_code == 401  # the 5th: 160 s, capped at 100
    assert 90 <= int(_login(client, "jo@example.org").headers["Retry-After"]) <= 100


def _shift_failures(client: TestClient, seconds: int) -> None:
    from datetime import timedelta

    with db(client) as s:
        for event in s.scalars(select(AuditEvent).where(AuditEvent.event == "login_failed")):
            event.at = event.at - timedelta(seconds=seconds)
        s.commit()


def test_failures_age_out_of_the_window(make_client: Any) -> None:
    client = make_client(login_max_failures_account=2, login_failure_window_s=60)
    register(client, "kim@example.org")
    client.cookies.clear()
    for _ in range(2):
        _login(client, "kim@example.org")
    assert _login(client, "kim@example.org", PASSWORD).status_code == 429
    _shift_failures(client, seconds=61)
    assert _login(client, "kim@example.org", PASSWORD).status_code == 200


def test_failures_from_one_address_throttle_it_across_accounts(make_client: Any) -> None:
    client = make_client(login_max_failures_address=4, login_max_failures_account=100)
    register(client, "lu@example.org")
    for i in range(4):
        assert _login(client, f"guess{i}@example.org").status_code == 401
    r = _login(client, "lu@example.org", PASSWORD)
    assert r.status_code == 429 and "this address" in r.json()["detail"] and int(r.headers["Retry-After"]) > 0


@pytest.mark.postgres
def test_the_throttle_counts_on_postgresql_too(make_client: Any, postgres_url: str) -> None:
    client = make_client(database_url=postgres_url, login_max_failures_account=2)
    register(client, "max@example.org")
    for email in ("max@example.org", "nobody@example.org"):
        for _ in range(2):
            assert _login(client, email).status_code == 401
        r = _login(client, email)
        assert r.status_code == 429 and "this account" in r.json()["detail"], r.text
    assert _login(client, "third@example.org").status_code == 401  # each unknown e-mail counts on its own


def test_the_expiry_sweep_deletes_expired_sessions(make_client: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from pixmill.expiry import expire

    client = make_client(session_ttl_hours=1)
    register(client, "ned@example.org")
    client.cookies.clear()
    register(client, "oz@example.org")
    assert expire(client.app.state.ctx, datetime.now(UTC) + timedelta(minutes=30)) == 0
    assert expire(client.app.state.ctx, datetime.now(UTC) + timedelta(minutes=61)) == 2
    with db(client) as s:
        assert s.scalars(select(BrowserSession)).all() == []
