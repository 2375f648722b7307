"""The canvas engine's data: palettes, canvas settings and the dot plan every artefact is drawn from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class CanvasError(ValueError):
    """Bad canvas input (palette rows, settings); `errors` lists each problem."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


@dataclass(frozen=True)
class PaletteColor:
    code: str
    name: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    name: str
    colors: tuple[PaletteColor, ...]
    version: int = 1

    def rgb_array(self) -> np.ndarray:
        """(n, 3) uint8."""
        return np.array([c.rgb for c in self.colors], dtype=np.uint8)


@dataclass(frozen=True)
class Palettes:
    """Stored palettes by name, loaded by the caller for the names a pipeline needs (the core reads no database)."""

    by_name: Mapping[str, Palette] = field(default_factory=dict)


@dataclass(frozen=True)
class LegendEntry:
    code: str
    name: str
    rgb: tuple[int, int, int]
    symbol: str  # one printable character, unique within the plan
    count: int  # cells of this colour
    bags: int  # bags of drills needed (with the spare percentage)


@dataclass
class DotPlan:
    """A canvas as a grid of legend indices (rows x cols) plus everything needed to print it."""

    cols: int
    rows: int
    grid: np.ndarray  # (rows, cols) int, index into legend
    legend: list[LegendEntry]
    cell_mm: float  # drill pitch
    drill_shape: str = "square"  # square | round
    palette_name: str = ""
    palette_version: int = 1
    quality: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Deterministic JSON form (the grid as a list of rows)."""
        return {
            "cols": self.cols,
            "rows": self.rows,
            "cell_mm": self.cell_mm,
            "drill_shape": self.drill_shape,
            "palette": {"name": self.palette_name, "version": self.palette_version},
            "legend": [
                {
                    "code": e.code,
                    "name": e.name,
                    "rgb": list(e.rgb),
                    "symbol": e.symbol,
                    "count": e.count,
                    "bags": e.bags,
                }
                for e in self.legend
            ],
            "grid": self.grid.astype(int).tolist(),
            "quality": self.quality,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DotPlan:
        legend = [
            LegendEntry(
                e["code"], e["name"], (e["rgb"][0], e["rgb"][1], e["rgb"][2]), e["symbol"], e["count"], e["bags"]
            )
            for e in data["legend"]
        ]
        return cls(
            cols=data["cols"],
            rows=data["rows"],
            grid=np.array(data["grid"], dtype=np.int16),
            legend=legend,
            cell_mm=data["cell_mm"],
            drill_shape=data.get("drill_shape", "square"),
            palette_name=data.get("palette", {}).get("name", ""),
            palette_version=data.get("palette", {}).get("version", 1),
            quality=data.get("quality", {}),
        )
