"""Identity queries: every statement on the users and api_keys tables, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pixmill.db.models import ApiKey, Asset, AuditEvent, Job, JobOutput, User


def add(session: Session, row: User | ApiKey) -> None:
    session.add(row)


def get_user(session: Session, user_id: str) -> User | None:
    return session.get(User, user_id)


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalars(select(User).where(User.email == email.lower())).first()


def user_by_sso(session: Session, issuer: str, subject: str) -> User | None:
    return session.scalars(select(User).where(User.sso_issuer == issuer, User.sso_subject == subject)).first()


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.created_at, User.id)).all()


def key_with_user(session: Session, prefix: str) -> tuple[ApiKey, User] | None:
    """The key with that prefix and its owner, in one query."""
    row = session.execute(select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.prefix == prefix))
    found = row.first()
    return (found[0], found[1]) if found else None


def keys_of(session: Session, user_id: str) -> Sequence[ApiKey]:
    return session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.created_at)
    ).all()


def get_key(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def touch_key(session: Session, key_id: str, now: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


def jobs_created_since(session: Session, owner_id: str, since: datetime) -> tuple[int, datetime | None]:
    """How many jobs the user created since `since`, and when the oldest of them was."""
    row = session.execute(
        select(func.count(), func.min(Job.created_at)).where(Job.owner_id == owner_id, Job.created_at > since)
    ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:  # SQLite's aggregate comes back naive (it is UTC)
        oldest = oldest.replace(tzinfo=UTC)
    return int(row[0]), oldest


def stored_bytes(session: Session, owner_id: str) -> int:
    """The bytes the user keeps stored: their uploads and their jobs' outputs."""
    uploads = session.scalar(select(func.coalesce(func.sum(Asset.bytes), 0)).where(Asset.owner_id == owner_id))
    outputs = session.scalar(
        select(func.coalesce(func.sum(JobOutput.bytes), 0))
        .join(Job, Job.id == JobOutput.job_id)
        .where(Job.owner_id == owner_id)
    )
    return int(uploads or 0) + int(outputs or 0)


def audit_page(
    session: Session, limit: int, before: int | None, user_id: str | None, event: str | None
) -> Sequence[AuditEvent]:
    """The newest audit events first, `limit` of them, older than id `before`, optionally of one user or kind."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    return session.scalars(query).all()


def active_admins(session: Session) -> list[str]:
    """The ids of enabled users with the admin role."""
    return [u.id for u in session.scalars(select(User).where(User.disabled.is_(False))) if "admin" in u.roles]
