"""Order queries: every statement on orders, their events and their renders, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pixmill.db.models import Order, OrderEvent, OrderRender


def event_seen(session: Session, event_id: str) -> bool:
    return session.get(OrderEvent, event_id) is not None


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


def open_renders(session: Session) -> Sequence[tuple[str, int, str, str | None]]:
    """(order, version, status, claimed_by) of every PENDING or RUNNING render."""
    rows = session.execute(
        select(OrderRender.order_id, OrderRender.version, OrderRender.status, OrderRender.claimed_by).where(
            OrderRender.status.in_(("PENDING", "RUNNING"))
        )
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
