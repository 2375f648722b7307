"""Sign-in against a real `pixmill serve` on 127.0.0.1: the cookies are Secure behind a TLS proxy that uvicorn
trusts (X-Forwarded-Proto from 127.0.0.1), and the audit log gets the proxy's client address."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from pixmill.db.models import AuditEvent
from tests.accounts.conftest import PASSWORD
from tests.live import LiveServer

pytestmark = pytest.mark.live


def test_cookies_are_secure_behind_a_trusted_https_proxy(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path / "server.log").start()
    try:
        body = {"email": "ann@example.org", "password": PASSWORD}
        with httpx.Client(base_url=server.url, timeout=30) as c:
            plain = c.post("/api/v1/auth/register", json=body)
            assert plain.status_code == 201, plain.text
            assert all("secure" not in h.lower() for h in plain.headers.get_list("set-cookie"))
            proxied = c.post(
                "/api/v1/auth/login",
                json=body,
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
            )
            assert proxied.status_code == 200, proxied.text
            cookies = proxied.headers.get_list("set-cookie")
            assert len(cookies) == 2 and all("; secure" in h.lower() for h in cookies)
    finally:
        server.stop()
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'pixmill.db'}")
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.event, AuditEvent.address).order_by(AuditEvent.id)).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("registered", "127.0.0.1"), ("login", "203.0.113.7")]
