"""The assets' expiry: uploads past their expiry go, row and file."""

from __future__ import annotations

from datetime import datetime

from pixmill.assets import repository
from pixmill.context import Context


def expire_uploads(ctx: Context, now: datetime) -> int:
    """Delete the assets whose expiry is before `now`, with their uploads; returns how many went.

    The row decides, not the file's age: an order's photo has its expiry moved on by the storefront
    (PIXMILL_ORDER_RETENTION_DAYS), and is kept that long.
    """
    removed = 0
    with ctx.session() as s:
        for asset in repository.expired(s, now):
            ctx.storage.delete_prefix(asset.storage_key)
            repository.delete(s, asset)
            removed += 1
        s.commit()
    return removed
