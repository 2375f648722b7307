"""The order state machine, as a pure function of (state, event) so reordered events converge.

received → paid → rendering → ready_for_review → approved → fulfilled; cancelled and refunded from
any state before fulfilled. Each event carries the whole order, so any event may be the first one
seen (paid before created); a state never moves backwards.
"""

from __future__ import annotations

RECEIVED = "received"
PAID = "paid"
RENDERING = "rendering"
READY_FOR_REVIEW = "ready_for_review"
APPROVED = "approved"
FULFILLED = "fulfilled"
CANCELLED = "cancelled"
REFUNDED = "refunded"

EVENT_TYPES = ("order.created", "order.paid", "order.cancelled", "order.refunded")
CLOSED = (FULFILLED, CANCELLED, REFUNDED)


def after_event(state: str | None, event_type: str) -> str | None:
    """The state after `event_type`, or None when the event changes nothing (late, duplicate, too late)."""
    if event_type == "order.created":
        return RECEIVED if state is None else None
    if event_type == "order.paid":
        return PAID if state in (None, RECEIVED) else None
    if event_type == "order.cancelled":
        return CANCELLED if state not in (FULFILLED, CANCELLED, REFUNDED) else None
    if event_type == "order.refunded":
        return REFUNDED if state not in (FULFILLED, REFUNDED) else None
    raise ValueError(f"unknown event type {event_type!r}")


# Staff actions: action → states it may start from, and where it leads.
STAFF_ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "approve": ((READY_FOR_REVIEW,), APPROVED),
    "reject": ((READY_FOR_REVIEW,), READY_FOR_REVIEW),
    "rerender": ((READY_FOR_REVIEW, APPROVED), RENDERING),
    "fulfil": ((APPROVED,), FULFILLED),
}
