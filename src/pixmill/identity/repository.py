"""Identity queries: every statement on the users and api_keys tables, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pixmill.db.models import ApiKey, User


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


def count_users(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(User)) or 0)


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
