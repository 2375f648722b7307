"""The render cache's expiry: entries not written for the retention period go."""

from __future__ import annotations

from datetime import datetime

from pixmill.adapters.storage.keys import RENDER_CACHE, written_before
from pixmill.context import Context


def expire_render_cache(ctx: Context, now: datetime) -> int:
    """Delete cached renders last written before the retention period; returns how many went."""
    return ctx.storage.delete_older_than(RENDER_CACHE.name, written_before(RENDER_CACHE, ctx.settings, now))
