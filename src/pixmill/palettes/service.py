"""Import, list and load palettes; each import of a name adds a version (orders keep theirs)."""

from __future__ import annotations

from typing import Any

from pixmill.canvas.palette_csv import parse_palette_csv
from pixmill.canvas.types import Palette, PaletteColor
from pixmill.context import Context
from pixmill.db.models import PaletteVersion
from pixmill.errors import PixmillError
from pixmill.palettes import repository


class PaletteNotFound(PixmillError, LookupError):
    """No palette has that name (and version)."""

    status, title = 404, "Palette not found"


def import_csv(ctx: Context, name: str, text: str) -> PaletteVersion:
    """Parse and store a palette CSV as the next version of `name` (CanvasError lists bad rows)."""
    palette = parse_palette_csv(text, name=name)
    colors = [{"code": c.code, "name": c.name, "rgb": list(c.rgb)} for c in palette.colors]
    with ctx.session() as s:
        row = PaletteVersion(name=name, version=repository.latest_version(s, name) + 1, colors=colors)
        repository.add(s, row)
        s.commit()
        return row


def list_palettes(ctx: Context) -> list[PaletteVersion]:
    with ctx.session() as s:
        return repository.all_versions(s)


def load(ctx: Context, name: str, version: int | None = None) -> Palette:
    """The palette `name` at `version` (default: the latest)."""
    with ctx.session() as s:
        row = repository.find(s, name, version)
    if row is None:
        raise PaletteNotFound(f"no palette {name!r}" + (f" version {version}" if version else ""))
    return to_palette(row.name, row.version, row.colors)


def to_palette(name: str, version: int, colors: list[Any]) -> Palette:
    return Palette(
        name=name,
        version=version,
        colors=tuple(PaletteColor(c["code"], c["name"], (c["rgb"][0], c["rgb"][1], c["rgb"][2])) for c in colors),
    )


def resolve(ctx: Context, names: list[str]) -> dict[str, Palette]:
    """The latest version of each named palette (PaletteNotFound for an unknown name)."""
    return {name: load(ctx, name) for name in names}
