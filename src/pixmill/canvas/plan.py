"""The dot plan: photo → grid of cells → colour budget → exact CIEDE2000 mapping (or dithering) → cleanup → legend.

Deterministic: the same photo, palette and settings give the same plan, byte for byte in its JSON form.
"""

from __future__ import annotations

import numpy as np

from pixmill.canvas.budget import choose_colors
from pixmill.canvas.cleanup import clean, isolated_mask
from pixmill.canvas.color import ciede2000, ciede2000_matrix, palette_lab, srgb_to_lab
from pixmill.canvas.grid import CanvasSettings, sample
from pixmill.canvas.legend import build_legend
from pixmill.canvas.mapping import PaletteIndex, dither, nearest
from pixmill.canvas.types import CanvasError, DotPlan, Palette
from pixmill.imaging.limits import Limits

_DIGITS = 4  # decimals kept in the quality report


def quality_report(source_lab: np.ndarray, mapped_lab: np.ndarray, grid: np.ndarray) -> dict[str, float | int]:
    """CIEDE2000 between each cell's source colour and its drill colour (mean, 95th percentile, max), the share
    of isolated cells and the number of colours used."""
    de = ciede2000(source_lab.reshape(-1, 3), mapped_lab.reshape(-1, 3))
    return {
        "mean_delta_e": round(float(de.mean()), _DIGITS),
        "p95_delta_e": round(float(np.percentile(de, 95)), _DIGITS),
        "max_delta_e": round(float(de.max()), _DIGITS),
        "isolated_share": round(float(isolated_mask(grid).mean()), _DIGITS),
        "colors_used": len(np.unique(grid)),
    }


def plan_from_grid(rgb: np.ndarray, palette: Palette, settings: CanvasSettings) -> DotPlan:
    """The plan for an already sampled (rows, cols, 3) uint8 sRGB grid."""
    if not palette.colors:
        raise CanvasError("the palette has no colours", [{"field": "palette", "message": "no colours"}])
    rows, cols = rgb.shape[:2]
    packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    unique, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    unique_rgb = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1).astype(np.uint8)
    unique_lab = srgb_to_lab(unique_rgb)
    pal_lab = palette_lab(palette)

    chosen = choose_colors(unique_lab, counts, pal_lab, settings.max_colors).colors  # palette indices
    chosen_lab = pal_lab[chosen]
    chosen_index = PaletteIndex.build(chosen_lab)
    if settings.dither and settings.dither_strength > 0:
        grid, _ = dither(unique_lab[inverse].reshape(rows, cols, 3), chosen_index, settings.dither_strength)
    else:
        grid = nearest(unique_lab, chosen_index).index[inverse].reshape(rows, cols)
    if settings.cleanup:
        grid = clean(
            grid,
            settings.min_region,
            ciede2000_matrix(chosen_lab, chosen_lab),
            source=unique_lab[inverse].reshape(rows, cols, 3),
            colours=chosen_lab,
        )

    used_counts = np.bincount(grid.ravel(), minlength=len(chosen))
    used = np.flatnonzero(used_counts)
    # Legend order: most cells first, then palette order; symbols follow it.
    order = used[np.lexsort((chosen[used], -used_counts[used]))]
    to_legend = np.full(len(chosen), -1, dtype=np.int64)
    to_legend[order] = np.arange(len(order))
    legend_grid = to_legend[grid].astype(np.int16)
    legend = build_legend(
        [palette.colors[int(chosen[i])] for i in order],
        [int(used_counts[i]) for i in order],
        settings.drills_per_bag,
        settings.spare_percent,
    )
    quality = quality_report(unique_lab[inverse], chosen_lab[grid], legend_grid)
    return DotPlan(
        cols=cols,
        rows=rows,
        grid=legend_grid,
        legend=legend,
        cell_mm=settings.pitch_mm,
        drill_shape=settings.drill_shape,
        palette_name=palette.name,
        palette_version=palette.version,
        quality=quality,
    )


def make_plan(image_bytes: bytes, palette: Palette, settings: CanvasSettings, limits: Limits) -> DotPlan:
    """The whole chain for one photo: sample, budget, map (or dither), clean up, legend and quality report."""
    if not palette.colors:
        raise CanvasError("the palette has no colours", [{"field": "palette", "message": "no colours"}])
    return plan_from_grid(sample(image_bytes, settings, limits), palette, settings)
