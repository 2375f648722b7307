"""The storefront's expiry: canvas previews after the retention period, orders' print files after the order
retention.

Orders' rows (the order, its events, its renders' status and quality reports) are kept: they are the record of
what was sold, a few kilobytes each, and no setting says they expire. Only their files go; a render whose files
went loses its links, so staff are never handed a link to a deleted file. An order's photo is an asset, kept by
its row's expiry (storefront.service moves it to PIXMILL_ORDER_RETENTION_DAYS after the order's latest event) and
deleted by the assets' expiry.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pixmill.adapters.storage.keys import CANVAS_PREVIEWS, ORDERS, order_item_prefix, written_before
from pixmill.context import Context
from pixmill.storefront import repository

# Print files are written just before their render row is finished, and the age sweep goes by the files' times:
# rows finished up to this long after the cutoff are checked too, so none keeps a link to a file swept before it.
_ROW_SLACK = timedelta(hours=1)

EXPIRED_NOTE = "print files expired (PIXMILL_ORDER_RETENTION_DAYS)"


def expire_canvas_previews(ctx: Context, now: datetime) -> int:
    """Delete canvas previews last written before the retention period; returns how many went.

    Each preview request writes its file anew and signs its link for the retention period, so no link handed
    out outlives its file.
    """
    return ctx.storage.delete_older_than(CANVAS_PREVIEWS.name, written_before(CANVAS_PREVIEWS, ctx.settings, now))


def expire_order_files(ctx: Context, now: datetime) -> int:
    """Delete orders' print files (plan, preview, guide) rendered before the order retention; returns how many
    files went. Their render rows stay, without links, noting why."""
    cutoff = written_before(ORDERS, ctx.settings, now)
    # By the files' age, as the S3 lifecycle rule of orders/ counts: files of failed or interrupted renders,
    # which no row names, go too.
    removed = ctx.storage.delete_older_than(ORDERS.name, cutoff)
    with ctx.session() as s:
        for render in repository.with_files_finished_before(s, cutoff + _ROW_SLACK):
            keys = [k for k in (render.plan_key, render.preview_key, render.guide_key) if k]
            if all(ctx.storage.exists(k) for k in keys):
                continue  # rendered after the cutoff: still within its retention
            removed += ctx.storage.delete_prefix(order_item_prefix(render.order_id, render.version, render.item_index))
            render.plan_key = render.preview_key = render.guide_key = None
            render.error = EXPIRED_NOTE
        s.commit()
    return removed
