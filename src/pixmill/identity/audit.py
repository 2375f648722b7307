"""The audit log of security events, readable by admins: one row per event, written in the caller's session
(so the event is kept exactly when what it records is)."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from pixmill.db.models import AuditEvent

Event = Literal[
    "login",
    "login_failed",
    "logout",
    "registered",
    "sso_login",
    "api_key_created",
    "api_key_revoked",
    "roles_changed",
    "user_disabled",
    "password_reset_requested",
    "password_reset",
]


def record(
    session: Session,
    event: Event,
    user_id: str | None = None,
    actor_id: str | None = None,
    address: str | None = None,
    **detail: Any,
) -> None:
    """Add one event to `session` (the caller commits)."""
    session.add(AuditEvent(event=event, user_id=user_id, actor_id=actor_id, address=address, detail=detail))
