"""Account queries beyond identity's: failed sign-ins counted from the audit log, revoking a key, expired
sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from pixmill.db.models import ApiKey, AuditEvent, BrowserSession


def _failures(session: Session, since: datetime, *where: object) -> tuple[int, datetime | None]:
    row = session.execute(
        select(func.count(), func.max(AuditEvent.at)).where(
            AuditEvent.event == "login_failed",
            AuditEvent.at >= since,
            *where,  # type: ignore[arg-type]
        )
    ).one()
    return int(row[0] or 0), row[1]  # max() keeps the column's type: an aware UTC datetime


def failures_of_account(
    session: Session, since: datetime, user_id: str | None, email: str
) -> tuple[int, datetime | None]:
    """Failed sign-ins to one account since `since` (an unknown e-mail counts as an account of its own, so an
    unknown address is throttled like a known one): how many, and the latest."""
    if user_id is not None:
        return _failures(session, since, AuditEvent.user_id == user_id)
    return _failures(session, since, AuditEvent.user_id.is_(None), AuditEvent.detail["email"].as_string() == email)


def failures_from(session: Session, since: datetime, address: str) -> tuple[int, datetime | None]:
    """Failed sign-ins from one client address since `since`: how many, and the latest."""
    return _failures(session, since, AuditEvent.address == address)


def revoke_key(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now))


def delete_expired_sessions(session: Session, now: datetime) -> int:
    result = session.execute(delete(BrowserSession).where(BrowserSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
