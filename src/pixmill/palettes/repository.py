"""Palette queries: every statement on the palette versions table, each given the caller's session."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pixmill.db.models import PaletteVersion


def latest_version(session: Session, name: str) -> int:
    """The highest stored version of `name`, 0 when none is stored."""
    return session.scalar(select(func.max(PaletteVersion.version)).where(PaletteVersion.name == name)) or 0


def add(session: Session, row: PaletteVersion) -> None:
    session.add(row)


def all_versions(session: Session) -> list[PaletteVersion]:
    """Every version of every palette, by name then version."""
    return list(session.scalars(select(PaletteVersion).order_by(PaletteVersion.name, PaletteVersion.version)))


def find(session: Session, name: str, version: int | None = None) -> PaletteVersion | None:
    """`name` at `version`, or its latest version when `version` is None."""
    query = select(PaletteVersion).where(PaletteVersion.name == name)
    if version is not None:
        query = query.where(PaletteVersion.version == version)
    return session.scalar(query.order_by(PaletteVersion.version.desc()).limit(1))


def get(session: Session, name: str, version: int) -> PaletteVersion | None:
    """`name` at exactly `version`."""
    return session.scalar(select(PaletteVersion).where(PaletteVersion.name == name, PaletteVersion.version == version))
