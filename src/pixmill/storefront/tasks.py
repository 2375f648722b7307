"""Background work of the storefront, run in worker processes: previews and order renders."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from pixmill.canvas.grid import CanvasSettings
from pixmill.canvas.guide import render_guide
from pixmill.canvas.model import DotPlan, Palette
from pixmill.canvas.plan import make_plan
from pixmill.canvas.preview import render_preview
from pixmill.context import Context
from pixmill.db.models import Asset, Order, OrderRender
from pixmill.palettes.service import to_palette
from pixmill.storage.keys import order_file_key
from pixmill.storefront import states

log = logging.getLogger("pixmill.storefront")

PRINT_PREVIEW_WIDTH = 2400


def preview(
    ctx: Context, storage_key: str, palette: Palette, canvas: dict[str, Any], width: int, key: str
) -> dict[str, Any]:
    """Plan and preview for the storefront; the preview is stored under `key`."""
    plan = make_plan(ctx.storage.get(storage_key), palette, CanvasSettings.model_validate(canvas), ctx.settings.limits)
    ctx.storage.put(key, render_preview(plan, width, "png"), "image/png")
    data = plan.to_json()
    return {"cols": plan.cols, "rows": plan.rows, "legend": data["legend"], "quality": data["quality"]}


def guide(ctx: Context, plan_key: str, paper: str, colour: bool) -> bytes:
    """The PDF guide of a stored plan: in colour, or black and white (symbols only)."""
    plan = DotPlan.from_json(json.loads(ctx.storage.get(plan_key)))
    return render_guide(plan, paper, colour=colour)


def render_order(ctx: Context, order_id: str, version: int) -> None:
    """Render every item of `order_id` at `version` once: plan JSON, full preview, PDF guide."""
    from pixmill.db.models import PaletteVersion

    with ctx.session() as s:
        ids = list(
            s.scalars(
                select(OrderRender.id).where(
                    OrderRender.order_id == order_id, OrderRender.version == version, OrderRender.status == "PENDING"
                )
            )
        )
    for render_id in ids:
        with ctx.session() as s:  # claim it: only one worker ever renders a given row
            result = s.execute(
                update(OrderRender)
                .where(OrderRender.id == render_id, OrderRender.status == "PENDING")
                .values(status="RUNNING")
            )
            claimed = getattr(result, "rowcount", 0)
            s.commit()
            if not claimed:
                continue
            render = s.get(OrderRender, render_id)
            order = s.get(Order, order_id)
            assert render is not None and order is not None
            item = order.items[render.item_index]
            asset = s.get(Asset, item["photo"])
            pal = s.scalar(
                select(PaletteVersion).where(
                    PaletteVersion.name == render.palette_name, PaletteVersion.version == render.palette_version
                )
            )
            settings, item_index = dict(render.settings), render.item_index
        try:
            if asset is None:
                raise ValueError(f"the photo {item['photo']!r} is no longer stored")
            if pal is None:
                raise ValueError(f"palette {render.palette_name!r} version {render.palette_version} is gone")
            plan = make_plan(
                ctx.storage.get(asset.storage_key),
                to_palette(pal.name, pal.version, pal.colors),
                CanvasSettings.model_validate(settings),
                ctx.settings.limits,
            )
            keys = {
                name: order_file_key(order_id, version, item_index, filename)
                for name, filename in (("plan", "plan.json"), ("preview", "preview.png"), ("guide", "guide.pdf"))
            }
            ctx.storage.put(keys["plan"], json.dumps(plan.to_json(), sort_keys=True).encode(), "application/json")
            ctx.storage.put(keys["preview"], render_preview(plan, PRINT_PREVIEW_WIDTH, "png"), "image/png")
            ctx.storage.put(keys["guide"], render_guide(plan), "application/pdf")
            values: dict[str, Any] = {
                "status": "COMPLETED",
                "plan_key": keys["plan"],
                "preview_key": keys["preview"],
                "guide_key": keys["guide"],
                "quality": plan.quality,
            }
        except Exception as exc:  # a bad photo or setting must not crash the worker: record it for staff
            log.warning("order render failed", extra={"order": order_id, "version": version, "error": str(exc)})
            values = {"status": "FAILED", "error": str(exc)}
        with ctx.session() as s:
            s.execute(
                update(OrderRender).where(OrderRender.id == render_id).values(finished_at=datetime.now(UTC), **values)
            )
            s.commit()
    _finish_version(ctx, order_id, version)


def _finish_version(ctx: Context, order_id: str, version: int) -> None:
    with ctx.session() as s:
        order = s.get(Order, order_id)
        renders = list(
            s.scalars(select(OrderRender).where(OrderRender.order_id == order_id, OrderRender.version == version))
        )
        if order is None or order.version != version or order.state != states.RENDERING:
            return
        if any(r.status in ("PENDING", "RUNNING") for r in renders):
            return
        failed = [r.error for r in renders if r.status == "FAILED"]
        order.state = states.READY_FOR_REVIEW
        order.review_note = ("render failed: " + "; ".join(e or "" for e in failed)) if failed else None
        order.updated_at = datetime.now(UTC)
        s.commit()
