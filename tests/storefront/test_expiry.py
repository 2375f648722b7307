"""Each domain expires what it owns, by the retention storage.keys declares for it (here on local storage; the
same checks run on S3 in tests/storage/test_s3.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from pixmill.adapters.storage.keys import upload_key
from pixmill.assets.expiry import expire_uploads
from pixmill.expiry import expire
from tests.conftest import upload
from tests.images import jpeg
from tests.storefront.conftest import STAFF, open_shop, shop_settings
from tests.storefront.expiry_checks import (
    MARGIN,
    canvas_preview,
    check_canvas_previews_expire_with_their_links,
    check_order_files_expire_after_the_order_retention,
    context,
    rendered_order,
)


def test_order_files_expire_after_the_order_retention(shop: TestClient) -> None:
    check_order_files_expire_after_the_order_retention(shop)


def test_canvas_previews_expire_with_their_links(shop: TestClient) -> None:
    check_canvas_previews_expire_with_their_links(shop)


def test_an_orders_photo_outlives_the_retention_of_uploads(shop: TestClient) -> None:
    ctx = context(shop)
    (loose,) = upload(shop, ("loose.jpg", jpeg(40, 30)))
    pid, _ = rendered_order(shop, "photo-1")
    ordered = datetime.now(UTC)

    assert expire_uploads(ctx, ordered + timedelta(hours=ctx.settings.retention_hours) + MARGIN) == 1
    assert not ctx.storage.exists(upload_key(loose["id"]))
    assert ctx.storage.exists(upload_key(pid))

    assert expire_uploads(ctx, ordered + timedelta(days=ctx.settings.order_retention_days) + MARGIN) == 1
    assert not ctx.storage.exists(upload_key(pid))


def test_the_upkeep_entry_point_runs_every_domains_expiry(tmp_path: Path) -> None:
    """pixmill.expiry.expire, which the upkeep calls, sweeps orders' files and canvas previews too."""
    settings = shop_settings(tmp_path)
    with open_shop(settings) as client:
        ctx = context(client)
        pid, keys = rendered_order(client, "swept-1")
        preview, _ = canvas_preview(client, pid)
        assert expire(ctx) == 0  # nothing is old yet
        # A clock past every retention (the upkeep's own sweeps, on the real clock, cannot race this one).
        later = datetime.now(UTC) + timedelta(days=settings.order_retention_days, hours=settings.retention_hours)
        assert expire(ctx, later + MARGIN) >= len(keys) + 2  # the print files, the preview, the photo
        assert not any(ctx.storage.exists(k) for k in [*keys, preview, upload_key(pid)])
        order = client.get("/api/v1/storefront/orders/swept-1", headers=STAFF).json()
        assert order["state"] == "ready_for_review" and order["renders"][0]["plan_url"] is None
    assert not [p for p in settings.resolved_storage_dir.rglob("*") if p.is_file()]
