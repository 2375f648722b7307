from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pixmill.canvas.color import palette_lab
from pixmill.canvas.palette_csv import parse_palette_csv
from pixmill.canvas.types import Palette

DMC = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "palettes" / "dmc.csv"


@pytest.fixture(scope="session")
def dmc() -> Palette:
    return parse_palette_csv(DMC.read_text(encoding="utf-8-sig"), name="dmc")


@pytest.fixture(scope="session")
def dmc_lab(dmc: Palette) -> np.ndarray:
    return palette_lab(dmc)
