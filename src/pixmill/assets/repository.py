"""Asset queries: every statement on the assets table, each given the caller's session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, cast, select, update
from sqlalchemy.orm import Session

from pixmill.db.models import Asset, Job, Order


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


def in_use(session: Session, asset_id: str) -> str | None:
    """What still needs the asset, or None: a job waiting or running on it, or a shop order whose photo it is."""
    active = session.scalars(select(Job.id).where(Job.status.in_(("PENDING", "PROCESSING")))).all()
    if active:
        for job_id, inputs in session.execute(select(Job.id, Job.input_ids).where(Job.id.in_(active))):
            if asset_id in inputs:
                return f"job {job_id} is waiting or running on it"
    # An order's items name their photo by id (a 32-character hex string, which appears nowhere else by chance).
    order = session.scalars(select(Order.id).where(cast(Order.items, String).contains(asset_id)).limit(1)).first()
    return f"order {order} is printed from it" if order else None
