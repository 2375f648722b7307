from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from pixmill.app import create_app
from tests.conftest import make_settings

PASSWORD = "correct horse battery"


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Any]:
    """Clients of apps with the given settings (on one data directory unless told otherwise), closed after."""
    opened: list[TestClient] = []

    def make(base_url: str = "http://testserver", **overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(tmp_path, **overrides)), base_url=base_url)
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def register(client: TestClient, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/v1/auth/register", json={"email": email, "password": password, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def db(client: Any) -> Session:
    """A database session of the client's app."""
    session: Session = client.app.state.ctx.session()
    return session


def csrf(client: TestClient) -> dict[str, str]:
    """The header a browser page sends: the CSRF cookie's value echoed back."""
    return {"X-CSRF-Token": client.cookies["pixmill_csrf"]}
