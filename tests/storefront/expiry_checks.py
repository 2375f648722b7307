"""The storefront's expiry, as checks any storage adapter must pass: run on local storage (test_expiry.py) and on
S3 (tests/storage/test_s3.py). Sweeps are run at a chosen `now`, so a retention of days is checked in seconds."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from pixmill.adapters.storage.keys import CANVAS_PREVIEWS, order_file_key
from pixmill.context import Context
from pixmill.db.models import OrderRender
from pixmill.storefront.expiry import EXPIRED_NOTE, expire_canvas_previews, expire_order_files
from tests.storefront.conftest import STAFF, event, photo, send, wait_state

# The stores keep times to the second (S3's Last-Modified, a local link's `expires`): sweeps are placed this far
# either side of a boundary.
MARGIN = timedelta(seconds=3)


def context(client: TestClient) -> Context:
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def rendered_order(client: TestClient, order_id: str) -> tuple[str, list[str]]:
    """A paid order rendered to its print files: its photo's asset id and the files' keys."""
    pid = photo(client)
    send(client, event(f"{order_id}-created", "order.created", order_id, pid))
    send(client, event(f"{order_id}-paid", "order.paid", order_id, pid))
    order = wait_state(client, order_id, ("ready_for_review",))
    assert order["renders"][0]["status"] == "COMPLETED", order
    with context(client).session() as s:
        (render,) = s.scalars(select(OrderRender).where(OrderRender.order_id == order_id))
        keys = [render.plan_key, render.preview_key, render.guide_key]
    assert all(keys)
    return pid, [k for k in keys if k]


def canvas_preview(client: TestClient, photo_id: str) -> tuple[str, datetime]:
    """A canvas preview of `photo_id`: its storage key and when its signed link expires."""
    body = {"asset_id": photo_id, "palette": "dmc", "canvas": {"cols": 24, "rows": 30, "max_colors": 8}, "width": 200}
    r = client.post("/api/v1/canvas/previews", json=body)
    assert r.status_code == 200, r.text
    url = r.json()["preview_url"]
    path = urlsplit(url).path
    return path[path.index(CANVAS_PREVIEWS.path) :], _link_expiry(url)


def _link_expiry(url: str) -> datetime:
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    if "expires" in query:  # local storage's signed link
        return datetime.fromtimestamp(int(query["expires"]), UTC)
    signed = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)  # an S3 presigned URL
    return signed + timedelta(seconds=int(query["X-Amz-Expires"]))


def check_order_files_expire_after_the_order_retention(client: TestClient) -> None:
    """An order's print files stay for PIXMILL_ORDER_RETENTION_DAYS from their rendering, then go; the order stays,
    its render without links; files of a render no row names go too."""
    ctx = context(client)
    days = ctx.settings.order_retention_days
    # Every file is written between `started` and `rendered`, however long a loaded machine takes to render: the
    # sweeps go just before the first possible write's expiry, then just after the last one's.
    started = datetime.now(UTC)
    _, keys = rendered_order(client, "keep-1")
    ghost = order_file_key("ghost", 1, 0, "plan.json")  # a render interrupted before its row recorded it
    ctx.storage.put(ghost, b"{}", "application/json")
    rendered = datetime.now(UTC)

    assert expire_order_files(ctx, started + timedelta(days=days) - MARGIN) == 0
    assert all(ctx.storage.exists(k) for k in [*keys, ghost])

    assert expire_order_files(ctx, rendered + timedelta(days=days) + MARGIN) == len(keys) + 1
    assert not any(ctx.storage.exists(k) for k in [*keys, ghost])
    order = client.get("/api/v1/storefront/orders/keep-1", headers=STAFF).json()
    assert order["state"] == "ready_for_review"
    (render,) = order["renders"]
    assert (render["preview_url"], render["guide_url"], render["plan_url"]) == (None, None, None)
    assert render["status"] == "COMPLETED" and render["error"] == EXPIRED_NOTE
    assert expire_order_files(ctx, rendered + timedelta(days=days) + MARGIN) == 0


def check_canvas_previews_expire_with_their_links(client: TestClient) -> None:
    """A canvas preview stays while a link handed out for it is valid (PIXMILL_RETENTION_HOURS from the latest
    request for it), then goes."""
    ctx = context(client)
    pid = photo(client)
    key, link_expires = canvas_preview(client, pid)
    assert ctx.storage.exists(key)
    assert expire_canvas_previews(ctx, link_expires - MARGIN) == 0
    assert ctx.storage.exists(key)

    time.sleep(2 * MARGIN.total_seconds())
    again, later_link_expires = canvas_preview(client, pid)  # the same preview asked for again: written anew
    assert again == key and later_link_expires > link_expires + MARGIN
    assert expire_canvas_previews(ctx, link_expires + MARGIN) == 0
    assert ctx.storage.exists(key)

    assert expire_canvas_previews(ctx, later_link_expires + MARGIN) == 1
    assert not ctx.storage.exists(key)
