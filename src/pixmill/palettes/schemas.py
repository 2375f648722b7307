"""What the palette routes answer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class PaletteRead(BaseModel):
    name: str
    version: int
    colors: int


class PaletteDetail(PaletteRead):
    entries: list[dict[str, Any]]
