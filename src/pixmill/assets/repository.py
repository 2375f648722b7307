"""Asset queries: every statement on the assets table, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pixmill.db.models import Asset


def add_all(session: Session, assets: Sequence[Asset]) -> None:
    session.add_all(assets)


def get(session: Session, asset_id: str) -> Asset | None:
    return session.get(Asset, asset_id)


def expired(session: Session, now: datetime) -> Sequence[Asset]:
    """The assets whose expiry is before `now`."""
    return session.scalars(select(Asset).where(Asset.expires_at < now)).all()


def delete(session: Session, asset: Asset) -> None:
    session.delete(asset)


def keep_until(session: Session, asset_ids: Sequence[str], until: datetime) -> None:
    """Move the expiry of those assets on to `until` (never earlier than it already is)."""
    session.execute(update(Asset).where(Asset.id.in_(asset_ids), Asset.expires_at < until).values(expires_at=until))


def owners(session: Session, asset_ids: set[str]) -> dict[str, str | None]:
    """Those of `asset_ids` that are stored, each with its owner (None: anonymous)."""
    if not asset_ids:
        return {}
    rows = session.execute(select(Asset.id, Asset.owner_id).where(Asset.id.in_(asset_ids)))
    return {asset_id: owner for asset_id, owner in rows}
