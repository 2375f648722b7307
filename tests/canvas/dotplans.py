"""DotPlans built directly for the preview and guide tests (no photo, no palette mapping)."""

from __future__ import annotations

import re

import numpy as np

from pixmill.canvas.types import DotPlan, LegendEntry

SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"


def make_plan(
    cols: int = 40,
    rows: int = 30,
    n_colors: int = 36,
    shape: str = "square",
    pattern: str = "random",
    seed: int = 0,
    cell_mm: float = 2.5,
    symbols: str = SYMBOLS,
) -> DotPlan:
    """A plan with `n_colors` distinct legend colours.

    pattern: "random" (each cell any colour), "bands" (smooth diagonal bands with some noise, like a photo) or
    "checker" (colour (row + col) % n).
    """
    rng = np.random.default_rng(seed)
    rgb = _distinct_colours(n_colors, rng)
    rr, cc = np.mgrid[0:rows, 0:cols]
    if pattern == "random":
        grid = rng.integers(0, n_colors, (rows, cols))
    elif pattern == "bands":
        wave = (np.sin(cc / 7.0) + np.cos(rr / 9.0) + 2) / 4
        grid = np.clip((wave * n_colors).astype(int) + rng.integers(-1, 2, (rows, cols)), 0, n_colors - 1)
    elif pattern == "checker":
        grid = (rr + cc) % n_colors
    else:
        raise ValueError(pattern)
    grid = grid.astype(np.int16)
    counts = np.bincount(grid.ravel(), minlength=n_colors)
    legend = [
        LegendEntry(
            code=f"{100 + i}",
            name=f"Colour {i}",
            rgb=(int(rgb[i, 0]), int(rgb[i, 1]), int(rgb[i, 2])),
            symbol=symbols[i],
            count=int(counts[i]),
            bags=int(counts[i]) // 200 + 1,
        )
        for i in range(n_colors)
    ]
    return DotPlan(
        cols=cols,
        rows=rows,
        grid=grid,
        legend=legend,
        cell_mm=cell_mm,
        drill_shape=shape,
        palette_name="Test palette",
        palette_version=7,
    )


def _distinct_colours(n: int, rng: np.random.Generator) -> np.ndarray:
    """n colours at least a little apart from each other, none very dark."""
    chosen: list[np.ndarray] = []
    while len(chosen) < n:
        c = rng.integers(60, 256, 3)
        if all(np.abs(c - o).sum() > 40 for o in chosen):
            chosen.append(c)
    return np.array(chosen, dtype=np.int64)


def pdf_page_count(pdf: bytes) -> int:
    """Pages of a PDF by its page objects (`/Type /Page`, not `/Pages`); checks the page tree's /Count agrees."""
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))
    counts = [int(n) for n in re.findall(rb"/Count\s+(\d+)", pdf)]
    assert counts and max(counts) == pages, (counts, pages)
    return pages


def shown_text(pdf: bytes) -> list[bytes]:
    """Every string shown with Tj in an uncompressed PDF, unescaped (octal escapes too), in the font's encoding."""

    def unescape(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else code

    return [re.sub(rb"\\([0-7]{1,3}|.)", unescape, raw) for raw in re.findall(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj", pdf)]
