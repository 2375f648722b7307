"""Accounts for API tests: a user (or staff, or admin) with an API key, made through identity.service in the
database of a running app, and the headers that act as them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.identity import service
from pixmill.identity.principal import scopes_of


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_account(
    ctx: Context, email: str, roles: Iterable[str] = ("user",), scopes: Iterable[str] | None = None
) -> Account:
    """A new account with `roles` and an API key with `scopes` (default: all its roles allow)."""
    roles = tuple(roles)
    user = service.create_user(ctx, email, None, roles=roles)
    wanted = sorted(scopes if scopes is not None else scopes_of(frozenset(roles)))
    _, token = service.create_api_key(ctx, user.id, "test", wanted)
    return Account(user.id, user.email, token)


def account(
    client: TestClient, email: str, roles: Iterable[str] = ("user",), scopes: Iterable[str] | None = None
) -> Account:
    """`make_account` in the database of the app `client` runs (started)."""
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    return make_account(ctx, email, roles, scopes)


def staff(client: TestClient, email: str = "shop@example.org") -> Account:
    """A staff account whose key has the scopes the shop's staff routes need (`orders`, `palettes`)."""
    return account(client, email, roles=("staff",), scopes=("orders", "palettes"))


def admin(client: TestClient) -> Account:
    """An admin account of the app `client` runs, made on first use."""
    made: Account | None = getattr(client.app.state, "test_admin", None)  # type: ignore[attr-defined]
    if made is None:
        made = account(client, f"admin-{uuid.uuid4().hex[:8]}@example.org", roles=("admin",))
        client.app.state.test_admin = made  # type: ignore[attr-defined]
    return made


def job_total(client: TestClient) -> int:
    """How many jobs the app holds, as an admin lists them."""
    r = client.get("/api/v1/jobs", headers=admin(client).headers)
    assert r.status_code == 200, r.text
    total: int = r.json()["total"]
    return total


def live_account(data_dir: Path, email: str, roles: Iterable[str] = ("user",)) -> Account:
    """`make_account` in the database of a live server (tests/live.py) on `data_dir`, started already."""
    ctx = Context.from_settings(Settings(data_dir=data_dir, secret_key="live-secret"))
    try:
        return make_account(ctx, email, roles)
    finally:
        ctx.close()
