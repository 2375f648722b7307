"""Storefront use cases: apply signed order events exactly once, start renders, staff review, previews."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pixmill.adapters.storage.keys import canvas_preview_key
from pixmill.assets import repository as assets
from pixmill.context import Context
from pixmill.db.models import Order, OrderEvent, OrderRender
from pixmill.errors import PixmillError
from pixmill.palettes import repository as palettes
from pixmill.storefront import repository, states
from pixmill.storefront.schemas import OrderEventIn


class OrderNotFound(PixmillError, LookupError):
    """No order has that id."""

    status, title = 404, "Order not found"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"no order has the id {self.args[0]!r}"


class InvalidTransition(PixmillError, ValueError):
    """A staff action that the order's state does not allow."""

    status, title = 409, "Not allowed in this state"


def handle_event(ctx: Context, event: OrderEventIn) -> tuple[bool, str, list[int]]:
    """Apply one event. Returns (duplicate, state, versions to render); safe under duplicates and races."""
    for attempt in range(3):
        try:
            return _apply(ctx, event)
        except IntegrityError:
            # another request stored this event, or created this order, first: look again
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _apply(ctx: Context, event: OrderEventIn) -> tuple[bool, str, list[int]]:
    now = datetime.now(UTC)
    with ctx.session() as s:
        if repository.event_seen(s, event.id):
            order = repository.get_order(s, event.order.id)
            return True, order.state if order else "unknown", []
        repository.add(
            s,
            OrderEvent(
                event_id=event.id,
                order_id=event.order.id,
                type=event.type,
                occurred_at=event.created_at,
                received_at=now,
                payload=event.model_dump(mode="json"),
            ),
        )
        order = repository.get_order(s, event.order.id, lock=True)
        items = [item.model_dump(mode="json") for item in event.order.line_items]
        if order is None:
            order = Order(id=event.order.id, state="", items=items, version=0, created_at=now, updated_at=now)
            repository.add(s, order)
        new_state = states.after_event(order.state or None, event.type)
        to_render: list[int] = []
        if new_state is not None:
            order.state = new_state
            order.updated_at = now
            if new_state == states.RECEIVED:
                order.items = items
            if new_state == states.PAID:
                order.items = items
                to_render.append(_start_version(s, order, None, None))
        _retain_photos(s, order, now + timedelta(days=ctx.settings.order_retention_days))
        s.commit()
        return False, order.state, to_render


def _start_version(s: Session, order: Order, canvas: dict[str, Any] | None, palette_version: int | None) -> int:
    """Record one PENDING render per item at the next version and move the order to rendering."""
    order.version += 1
    for index, item in enumerate(order.items):
        # 0 when the palette is missing: the render fails saying so, and the order is kept
        version = palette_version or item.get("palette_version") or palettes.latest_version(s, item["palette"])
        repository.add(
            s,
            OrderRender(
                order_id=order.id,
                version=order.version,
                item_index=index,
                status="PENDING",
                settings=canvas if canvas is not None else item.get("canvas", {}),
                palette_name=item["palette"],
                palette_version=version,
            ),
        )
    order.state = states.RENDERING
    return order.version


def _retain_photos(s: Session, order: Order, until: datetime) -> None:
    assets.keep_until(s, [item["photo"] for item in order.items], until)


def staff_action(
    ctx: Context,
    order_id: str,
    action: str,
    *,
    reason: str | None = None,
    canvas: dict[str, Any] | None = None,
    palette_version: int | None = None,
) -> tuple[Order, int | None]:
    """approve | reject | rerender | fulfil; returns the order and a version to render, if any."""
    allowed_from, target = states.STAFF_ACTIONS[action]
    with ctx.session() as s:
        order = repository.get_order(s, order_id, lock=True)
        if order is None:
            raise OrderNotFound(order_id)
        if order.state not in allowed_from:
            raise InvalidTransition(
                f"cannot {action} an order that is {order.state} (allowed from {', '.join(allowed_from)})"
            )
        if action == "approve":
            _check_rendered(s, order)
        version = None
        if action == "rerender":
            version = _start_version(s, order, canvas, palette_version)
            order.review_note = None
        else:
            order.state = target
            if action == "reject":
                order.review_note = f"rejected: {reason}"
        order.updated_at = datetime.now(UTC)
        s.commit()
        return order, version


def _check_rendered(s: Session, order: Order) -> None:
    """Raise InvalidTransition unless every line item of the order's current version rendered."""
    failed = repository.unrendered_items(s, order)
    if failed:
        reasons = "; ".join(f"line item {r.item_index}: {r.error or r.status.lower()}" for r in failed)
        raise InvalidTransition(
            f"cannot approve an order whose line items did not render ({reasons}): rerender or reject it"
        )


def get_order(ctx: Context, order_id: str) -> tuple[Order, list[OrderRender]]:
    with ctx.session() as s:
        order = repository.get_order(s, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order, repository.all_renders(s, order_id)


def recent_orders(ctx: Context, limit: int, offset: int, state: str | None) -> list[tuple[Order, list[OrderRender]]]:
    with ctx.session() as s:
        return [(order, repository.current_renders(s, order)) for order in repository.recent(s, limit, offset, state)]


def resumable_renders(ctx: Context, *, startup: bool, now: datetime | None = None) -> list[tuple[str, int]]:
    """(order, version) with renders to queue again:
    - PENDING ones never handed to the runner (the broker was down when their event came); at `startup`, every
      PENDING one (an embedded runner's queue dies with its process);
    - RUNNING ones whose claiming process is surely gone (`worker.owner.is_gone`), or whose claim is older than the
      lease (`worker.retry.claim_lease_s`: past every time limit, so the holder is dead or stuck wherever it runs).
    Changes nothing: the render task claims each row itself, with a compare-and-set on the claim it read, so a render
    a live process holds is never reset."""
    from pixmill.worker.owner import is_gone
    from pixmill.worker.retry import claim_lease_s

    now = now or datetime.now(UTC)
    lease = timedelta(seconds=claim_lease_s(ctx.settings))
    wanted = set()
    with ctx.session() as s:
        for order_id, version, status, holder, claimed_at, queued_at in repository.open_renders(s):
            if status == "PENDING":
                due = startup or queued_at is None
            else:
                due = is_gone(holder) or (claimed_at is not None and now - claimed_at > lease)
            if due:
                wanted.add((order_id, version))
    return sorted(wanted)


def mark_queued(ctx: Context, order_id: str, version: int) -> None:
    """Record that one order version's renders were handed to the runner (a sweep then leaves them to it)."""
    with ctx.session() as s:
        repository.mark_queued(s, order_id, version, datetime.now(UTC))
        s.commit()


def preview_key(asset_sha256: str, palette: str, version: int, canvas: dict[str, Any], width: int) -> str:
    """The storage key of a preview, from its content: the same request writes the same file."""
    blob = json.dumps({"a": asset_sha256, "p": [palette, version], "c": canvas, "w": width}, sort_keys=True).encode()
    return canvas_preview_key(hashlib.sha256(blob).hexdigest())
