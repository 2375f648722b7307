"""Password reset by e-mail, through a real SMTP server on loopback: the link works once, expires, and asking says
nothing about whether an address has an account."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from pixmill.adapters.mail import MailNotConfigured, MailUnavailable
from pixmill.context import Context
from pixmill.db.models import AuditEvent, User
from pixmill.db.session import upgrade
from pixmill.identity import browser_sessions, recovery, service
from pixmill.identity.errors import InvalidIdentityInput
from pixmill.identity.passwords import verify_password
from tests.conftest import make_settings
from tests.identity.mail_sink import smtp_sink

LINK = "https://shop.example/reset-password"


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[tuple[Context, list[EmailMessage]]]:
    with smtp_sink() as (url, messages):
        ctx = Context.from_settings(make_settings(tmp_path, smtp_url=url, mail_from="pixmill <noreply@shop.example>"))
        upgrade(ctx.engine)
        yield ctx, messages
        ctx.close()


def _token(message: EmailMessage) -> str:
    body = message.get_content()
    found = re.search(re.escape(LINK) + r"\?token=(\S+)", body)
    assert found, body
    return unquote(found.group(1))


def test_a_reset_link_sets_a_new_password_once_and_signs_every_browser_out(
    mail: tuple[Context, list[EmailMessage]],
) -> None:
    ctx, messages = mail
    user = service.create_user(ctx, "ann@example.org", "old password 123")
    browser, _ = browser_sessions.start(ctx, user.id)
    recovery.request_reset(ctx, "Ann@Example.org", LINK, address="10.0.0.1")
    (message,) = messages
    assert message["To"] == "ann@example.org" and message["From"] == "pixmill <noreply@shop.example>"
    token = _token(message)
    assert recovery.confirm_reset(ctx, token, "new password 456") == user.id
    with ctx.session() as s:
        stored = s.get(User, user.id)
        assert stored is not None and stored.password_hash is not None
        assert verify_password(stored.password_hash, "new password 456")
        events = [e.event for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == ["password_reset_requested", "password_reset"]
    assert browser_sessions.resolve(ctx, browser) is None  # signed out everywhere
    with pytest.raises(InvalidIdentityInput, match="already used"):  # the same link again
        recovery.confirm_reset(ctx, token, "third password 789")


def test_links_expire_are_tamper_proof_and_unknown_addresses_get_no_mail(
    mail: tuple[Context, list[EmailMessage]],
) -> None:
    ctx, messages = mail
    user = service.create_user(ctx, "bob@example.org", "old password 123")
    recovery.request_reset(ctx, "nobody@example.org", LINK)
    recovery.request_reset(ctx, "not an address", LINK)
    assert messages == []  # and no error: the caller can't tell
    token = recovery.make_token(ctx, user.id, "$argon2id$whatever")  # signed for another password hash
    for bad in (token, "x", "a.b.c", f"{user.id}.9999999999.AAAA"):
        with pytest.raises(InvalidIdentityInput):
            recovery.confirm_reset(ctx, bad, "new password 456")
    recovery.request_reset(ctx, "bob@example.org", LINK)
    good = _token(messages[-1])
    later = time.time() + ctx.settings.password_reset_ttl_s + 1
    with pytest.raises(InvalidIdentityInput, match="expired"):
        recovery.confirm_reset(ctx, good, "new password 456", now=later)
    with pytest.raises(InvalidIdentityInput, match="password"):  # too short
        recovery.confirm_reset(ctx, good, "short")
    assert recovery.confirm_reset(ctx, good, "new password 456") == user.id


def test_without_a_mail_server_reset_says_so_and_a_dead_one_is_a_503(tmp_path: Path) -> None:
    ctx = Context.from_settings(make_settings(tmp_path))
    upgrade(ctx.engine)
    with pytest.raises(MailNotConfigured, match="PIXMILL_SMTP_URL"):
        recovery.request_reset(ctx, "ann@example.org", LINK)
    ctx.close()
    dead = Context.from_settings(make_settings(tmp_path, smtp_url="smtp://127.0.0.1:9"))
    upgrade(dead.engine)
    service.create_user(dead, "ann@example.org", "old password 123")
    with pytest.raises(MailUnavailable) as caught:
        recovery.request_reset(dead, "ann@example.org", LINK)
    assert caught.value.status == 503
    dead.close()


def test_the_reset_routes_end_to_end(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from pixmill.app import create_app

    with smtp_sink() as (url, messages), TestClient(create_app(make_settings(tmp_path, smtp_url=url))) as client:
        ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
        service.create_user(ctx, "cy@example.org", "old password 123")
        for email in ("cy@example.org", "nobody@example.org"):  # the same answer either way
            r = client.post("/api/v1/auth/password-reset", json={"email": email})
            assert r.status_code == 202 and "if the address has an account" in r.json()["detail"]
        (message,) = messages
        body = message.get_content()
        assert "http://testserver/reset-password?token=" in body
        token = unquote(re.search(r"token=(\S+)", body).group(1))  # type: ignore[union-attr]
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "new password 456"})
        assert r.status_code == 204, r.text
        r = client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "new password 789"})
        assert r.status_code == 422 and "already used" in r.json()["detail"]
        assert (
            client.post(
                "/api/v1/auth/login", json={"email": "cy@example.org", "password": "new password 456"}
            ).status_code
            == 200
        )
        assert (
            client.post(
                "/api/v1/auth/login", json={"email": "cy@example.org", "password": "old password 123"}
            ).status_code
            == 401
        )
    with TestClient(create_app(make_settings(tmp_path / "nomail"))) as client:
        r = client.post("/api/v1/auth/password-reset", json={"email": "cy@example.org"})
        assert r.status_code == 404 and "PIXMILL_SMTP_URL" in r.json()["detail"]
