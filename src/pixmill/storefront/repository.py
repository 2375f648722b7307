"""Order queries: every statement on orders, their events and their renders, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from pixmill.db.models import Order, OrderEvent, OrderRender


def event_seen(session: Session, event_id: str) -> bool:
    return session.get(OrderEvent, event_id) is not None


def add(session: Session, row: Order | OrderEvent | OrderRender) -> None:
    """Stage a new order, order event or render row (the service commits)."""
    session.add(row)


def get_order(session: Session, order_id: str, *, lock: bool = False) -> Order | None:
    """The order; with `lock`, held FOR UPDATE until the transaction ends."""
    return session.get(Order, order_id, with_for_update=lock)


def unrendered_items(session: Session, order: Order) -> list[OrderRender]:
    """The renders of the order's current version that did not complete, by line item."""
    return list(
        session.scalars(
            select(OrderRender)
            .where(
                OrderRender.order_id == order.id,
                OrderRender.version == order.version,
                OrderRender.status != "COMPLETED",
            )
            .order_by(OrderRender.item_index)
        )
    )


def all_renders(session: Session, order_id: str) -> list[OrderRender]:
    """Every render of the order, newest version first, then by line item."""
    return list(
        session.scalars(
            select(OrderRender)
            .where(OrderRender.order_id == order_id)
            .order_by(OrderRender.version.desc(), OrderRender.item_index)
        )
    )


def recent(session: Session, limit: int, offset: int, state: str | None) -> list[Order]:
    """Orders by last change, newest first, optionally only those in `state`."""
    query = select(Order).order_by(Order.updated_at.desc(), Order.id)
    if state:
        query = query.where(Order.state == state)
    return list(session.scalars(query.limit(limit).offset(offset)))


def current_renders(session: Session, order: Order) -> list[OrderRender]:
    """The renders of the order's current version, by line item."""
    return list(
        session.scalars(
            select(OrderRender)
            .where(OrderRender.order_id == order.id, OrderRender.version == order.version)
            .order_by(OrderRender.item_index)
        )
    )


OpenRender = tuple[str, int, str, str | None, datetime | None, datetime | None]


def open_renders(session: Session) -> list[OpenRender]:
    """(order, version, status, claimed_by, claimed_at, queued_at) of every PENDING or RUNNING render."""
    rows = session.execute(
        select(
            OrderRender.order_id,
            OrderRender.version,
            OrderRender.status,
            OrderRender.claimed_by,
            OrderRender.claimed_at,
            OrderRender.queued_at,
        ).where(OrderRender.status.in_(("PENDING", "RUNNING")))
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def mark_queued(session: Session, order_id: str, version: int, now: datetime) -> None:
    """Record that the renders of one order version were handed to the runner at `now`."""
    session.execute(
        update(OrderRender)
        .where(OrderRender.order_id == order_id, OrderRender.version == version)
        .values(queued_at=now)
    )


def open_items(
    session: Session, order_id: str, version: int
) -> list[tuple[int, str, str | None, int, datetime | None]]:
    """(id, status, claimed_by, attempts, claimed_at) of the PENDING or RUNNING renders of one version of an order."""
    rows = session.execute(
        select(
            OrderRender.id, OrderRender.status, OrderRender.claimed_by, OrderRender.attempts, OrderRender.claimed_at
        ).where(
            OrderRender.order_id == order_id,
            OrderRender.version == version,
            OrderRender.status.in_(("PENDING", "RUNNING")),
        )
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def get_render(session: Session, render_id: int) -> OrderRender | None:
    return session.get(OrderRender, render_id)


def version_renders(session: Session, order_id: str, version: int) -> list[OrderRender]:
    """Every render of one version of an order."""
    return list(
        session.scalars(select(OrderRender).where(OrderRender.order_id == order_id, OrderRender.version == version))
    )


def _as_read(render_id: int, status: str, holder: str | None, attempts: int) -> list[ColumnElement[bool]]:
    # A compare-and-set matches the row only as the caller read it, so only one process wins a given claim.
    return [
        OrderRender.id == render_id,
        OrderRender.status == status,
        OrderRender.attempts == attempts,
        OrderRender.claimed_by.is_(None) if holder is None else OrderRender.claimed_by == holder,
    ]


def give_up(session: Session, render_id: int, status: str, holder: str | None, attempts: int, error: str) -> None:
    """Mark the render FAILED with `error`, if it is still as it was read."""
    session.execute(
        update(OrderRender)
        .where(*_as_read(render_id, status, holder, attempts))
        .values(status="FAILED", error=error, finished_at=datetime.now(UTC))
    )


def claim(session: Session, render_id: int, status: str, holder: str | None, attempts: int, me: str) -> bool:
    """Mark the render RUNNING by `me` if it is still as it was read; whether it was."""
    result = session.execute(
        update(OrderRender)
        .where(*_as_read(render_id, status, holder, attempts))
        .values(status="RUNNING", claimed_by=me, claimed_at=datetime.now(UTC), attempts=attempts + 1)
    )
    return bool(getattr(result, "rowcount", 0))


def record(session: Session, render_id: int, me: str, values: dict[str, Any]) -> None:
    """Record the render's outcome, only while `me` still holds it."""
    session.execute(
        update(OrderRender)
        .where(OrderRender.id == render_id, OrderRender.claimed_by == me)
        .values(finished_at=datetime.now(UTC), **values)
    )


def with_files_finished_before(session: Session, before: datetime) -> Sequence[OrderRender]:
    """The renders finished before `before` that still name a print file."""
    return session.scalars(
        select(OrderRender).where(
            OrderRender.finished_at < before,
            or_(
                OrderRender.plan_key.is_not(None),
                OrderRender.preview_key.is_not(None),
                OrderRender.guide_key.is_not(None),
            ),
        )
    ).all()
