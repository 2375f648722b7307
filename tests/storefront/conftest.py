from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.storefront.event_signatures import SIGNATURE_HEADER, sign
from tests import images
from tests.conftest import SHARED, make_settings, upload
from tests.principals import staff

SECRET = "shop-secret"
# The headers of the shop's staff API key (scopes orders, palettes) in the app `open_shop` opened last: filled in
# there, as each app has its own database.
STAFF: dict[str, str] = {}
DMC = SHARED / "data" / "palettes" / "dmc.csv"


def shop_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return make_settings(tmp_path, storefront_secret=SECRET, **overrides)


@contextlib.contextmanager
def open_shop(settings: Settings) -> Iterator[TestClient]:
    """A client of an app on `settings` with a staff account (its key's headers in STAFF) and the DMC palette
    imported."""
    with TestClient(create_app(settings)) as client:
        STAFF.clear()
        STAFF.update(staff(client, f"shop-{uuid.uuid4().hex[:8]}@example.org").headers)
        r = client.post(
            "/api/v1/palettes", data={"name": "dmc"}, files={"file": ("dmc.csv", DMC.read_bytes())}, headers=STAFF
        )
        assert r.status_code == 201, r.text
        yield client


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[TestClient]:
    with open_shop(shop_settings(tmp_path)) as client:
        yield client


def photo(client: TestClient) -> str:
    (asset,) = upload(client, ("p.jpg", images.jpeg(320, 400)))
    return str(asset["id"])


def event(event_id: str, kind: str, order_id: str, photo_id: str, **canvas: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "created_at": "2026-11-23T12:00:00Z",
        "order": {
            "id": order_id,
            "line_items": [
                {"photo": photo_id, "palette": "dmc", "canvas": {"cols": 24, "rows": 30, "max_colors": 10, **canvas}}
            ],
        },
    }


def send(client: TestClient, body: dict[str, Any], secret: str = SECRET, timestamp: int | None = None) -> Any:
    raw = json.dumps(body).encode()
    headers = {SIGNATURE_HEADER: sign(secret.encode(), raw, timestamp), "content-type": "application/json"}
    return client.post("/api/v1/storefront/events", content=raw, headers=headers)


def wait_state(client: TestClient, order_id: str, states: tuple[str, ...], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        order: dict[str, Any] = client.get(f"/api/v1/storefront/orders/{order_id}", headers=STAFF).json()
        if order.get("state") in states and all(r["status"] not in ("PENDING", "RUNNING") for r in order["renders"]):
            return order
        assert time.monotonic() < deadline, order
        time.sleep(0.1)
