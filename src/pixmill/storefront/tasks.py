"""Background work of the storefront, run in worker processes: previews, guides and order renders.

Order renders are queued through the one door (`Runner.enqueue`), so with the celery runner they run on `pixmill
worker` processes; previews and guides are answered synchronously (`Runner.call`, on the API's pools).

Resuming an interrupted render: nobody resets another process's work. Each render row records who claimed it
(`worker.owner`: host, pid, start time) and how many times (`attempts`). `render_order` claims a row with a
compare-and-set on the claim it read, and claims a RUNNING row only when its holder is surely gone (a dead process on
this host), on a redelivered Celery message when the holder is on another host (the broker redelivers only once
the holder's connection is gone), or when the claim is older than the lease (`worker.retry.claim_lease_s`, past every
time limit: the holder is dead or stuck wherever it runs). Every API start queues the renders left PENDING or held by a
dead process, and every API process sweeps every PIXMILL_RENDER_SWEEP_S for renders never queued (the broker was down)
or past their lease (`resume_renders`); queueing is harmless when another process holds the render, since the claim
then fails. A render
whose process died MAX_ATTEMPTS times is FAILED (worker.retry), so a photo that kills its worker cannot loop.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pixmill.adapters.storage.keys import order_file_key
from pixmill.assets import repository as assets
from pixmill.canvas.grid import CanvasSettings
from pixmill.canvas.guide import render_guide
from pixmill.canvas.plan import make_plan
from pixmill.canvas.preview import render_preview
from pixmill.canvas.types import DotPlan, Palette
from pixmill.context import Context
from pixmill.palettes import repository as palettes
from pixmill.palettes.service import to_palette
from pixmill.storefront import repository, service, states
from pixmill.worker import owner, registry
from pixmill.worker.port import Runner, RunnerUnavailable
from pixmill.worker.registry import CANVAS_PREVIEW, ORDER_GUIDE, RENDER_ORDER, register
from pixmill.worker.retry import MAX_ATTEMPTS, claim_lease_s

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
    me = owner.this_process()
    with ctx.session() as s:
        rows = repository.open_items(s, order_id, version)
    lease = timedelta(seconds=claim_lease_s(ctx.settings))
    for render_id, status, holder, attempts, claimed_at in rows:
        lapsed = claimed_at is not None and datetime.now(UTC) - claimed_at > lease
        if status == "RUNNING" and not (lapsed or owner.may_take_over(holder, registry.redelivered())):
            continue  # a live process renders it
        if not _claim(ctx, render_id, status, holder, attempts, me):
            continue
        with ctx.session() as s:
            render = repository.get_render(s, render_id)
            order = repository.get_order(s, order_id)
            assert render is not None and order is not None
            item = order.items[render.item_index]
            asset = assets.get(s, item["photo"])
            pal = palettes.get(s, render.palette_name, render.palette_version)
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
            repository.record(s, render_id, me, values)
            s.commit()
    _finish_version(ctx, order_id, version)


def _claim(ctx: Context, render_id: int, status: str, holder: str | None, attempts: int, me: str) -> bool:
    """Claim one render as it was read (status, holder, attempts): only one process ever wins a given claim.

    A RUNNING render taken over after MAX_ATTEMPTS starts is FAILED instead: its process died each time."""
    with ctx.session() as s:
        if status == "RUNNING" and attempts >= MAX_ATTEMPTS:
            error = f"gave up after {attempts} attempts (the worker stopped each time)"
            repository.give_up(s, render_id, status, holder, attempts, error)
            s.commit()
            log.warning("order render given up", extra={"render": render_id, "attempts": attempts})
            return False
        claimed = repository.claim(s, render_id, status, holder, attempts, me)
        s.commit()
        return claimed


def submit_render(ctx: Context, runner: Runner, order_id: str, version: int) -> bool:
    """Queue the renders of one order version through the one door, and record that they were; whether they were.

    When the runner is unavailable the renders stay PENDING and unqueued, and the next sweep (`resume_renders`,
    every PIXMILL_RENDER_SWEEP_S in every API process) queues them once it is back."""
    try:
        runner.enqueue(RENDER_ORDER, {"order_id": order_id, "version": version})
    except RunnerUnavailable as exc:
        log.warning("order render not queued", extra={"order": order_id, "version": version, "error": str(exc)})
        return False
    service.mark_queued(ctx, order_id, version)
    return True


def resume_renders(ctx: Context, runner: Runner, *, startup: bool = False) -> int:
    """Queue the renders that need it (`service.resumable_renders`); returns how many (order, version) went."""
    return sum(
        submit_render(ctx, runner, order_id, version)
        for order_id, version in service.resumable_renders(ctx, startup=startup)
    )


def _finish_version(ctx: Context, order_id: str, version: int) -> None:
    with ctx.session() as s:
        order = repository.get_order(s, order_id)
        renders = repository.version_renders(s, order_id, version)
        if order is None or order.version != version or order.state != states.RENDERING:
            return
        if any(r.status in ("PENDING", "RUNNING") for r in renders):
            return
        failed = [r.error for r in renders if r.status == "FAILED"]
        order.state = states.READY_FOR_REVIEW
        order.review_note = ("render failed: " + "; ".join(e or "" for e in failed)) if failed else None
        order.updated_at = datetime.now(UTC)
        s.commit()


register(CANVAS_PREVIEW, preview)
register(ORDER_GUIDE, guide)
register(RENDER_ORDER, render_order, rerun_if_process_dies=True)
