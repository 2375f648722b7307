"""Paint-by-dots canvas: dot plan time, and the fast CIEDE2000 mapping against brute force, in one run, one core.

A 12 MP JPEG photo (a CBSD68 image upscaled to 4000x3000 with grain, q90) → 40x50 cm at 2.5 mm (160x200 cells)
and 60x80 cm (240x320 cells), the 490-colour DMC palette, K = 40, exact CIEDE2000 mapping, cleanup on.

- plan: median of make_plan (decode with shrink on load, fit, sample, budget, mapping, cleanup, legend, quality);
- plan + preview: the same followed by a 1200 px preview (canvas.preview.render_preview); the PDF guide;
- mapping: the fast mapping (k-d tree candidates, proven bound, brute-force fallback) of the plan's cells to its
  K chosen colours, next to brute-force CIEDE2000 over the same colours, and over the whole palette; the share
  of cells where fast and brute force agree (ties go to the lowest palette index in both).

Goals: plan + preview <= 0.4 s at 160x200 cells, <= 1 s at 240x320; agreement >= 99.9 %.

Quality, on the test photos of ../shared/testsets (faces/ and CBSD68/, 82 photos of people, animals, landscapes and
textures; by path, never copied) at 160x200 cells, DMC, K = 40:

- cleanup: mean CIEDE2000 between each cell's photo colour and its drill colour, and the share of isolated cells,
  with and without cleanup (goal: <= 1 % isolated at mean <= 4.5 with cleanup);
- preview: each cell of the 1200 px preview averaged over its pixels (sRGB), CIEDE2000 to the plan's colour for that
  cell, median over all cells of all photos (goal: <= 2), square and round drills.

Usage: python bench/canvas.py [--repeat 7] [--image 0] [--photos N] [--no-speed] [--no-quality]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from common import SHARED, make_photo

from pixmill.canvas.budget import choose_colors
from pixmill.canvas.color import ciede2000, palette_lab, srgb_to_lab
from pixmill.canvas.grid import CanvasSettings, sample
from pixmill.canvas.guide import render_guide
from pixmill.canvas.mapping import PaletteIndex, nearest, nearest_brute
from pixmill.canvas.palette_csv import parse_palette_csv
from pixmill.canvas.plan import make_plan, plan_from_grid
from pixmill.canvas.preview import legend_rgb, render_preview, render_preview_image
from pixmill.canvas.types import DotPlan, Palette
from pixmill.imaging.limits import Limits

DMC = SHARED / "data" / "palettes" / "dmc.csv"
PREVIEW_WIDTH = 1200
SIZES = ((40.0, 50.0, 0.4), (60.0, 80.0, 1.0))  # cm, cm, goal in seconds


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_core() -> None:
    """Run on one CPU with single-threaded BLAS/OpenMP (re-executing once so the libraries see the settings)."""
    if any(os.environ.get(var) != "1" for var in THREAD_VARS):
        env = {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def median_s(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up (imports, caches)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def plan_and_preview(plan_once: Callable[[], DotPlan]) -> bytes:
    return render_preview(plan_once(), PREVIEW_WIDTH, "png")


def mapping_check(data: bytes, palette: Palette, settings: CanvasSettings, repeat: int) -> None:
    """The plan's own cells and K colours: fast mapping vs brute force (time and agreement)."""
    limits = Limits()
    rgb = sample(data, settings, limits)
    cells = srgb_to_lab(rgb.reshape(-1, 3))
    pal_lab = palette_lab(palette)
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    _, first, counts = np.unique(packed.ravel(), return_index=True, return_counts=True)
    chosen = choose_colors(cells[first], counts, pal_lab, settings.max_colors).colors
    target = pal_lab[chosen]
    index = PaletteIndex.build(target)
    fast = nearest(cells, index)
    brute_index, _ = nearest_brute(cells, index)
    t_fast = median_s(lambda: nearest(cells, PaletteIndex.build(target)), repeat)
    t_brute = median_s(lambda: nearest_brute(cells, target), max(1, repeat // 3))
    agree = float(np.mean(fast.index == brute_index))
    print(
        f"  mapping {len(cells)} cells → K={len(chosen)}: fast {t_fast * 1000:.1f} ms "
        f"({fast.brute_cells} cells left to brute force), brute-force CIEDE2000 {t_brute * 1000:.1f} ms, "
        f"agreement {agree * 100:.3f} %"
    )
    full = PaletteIndex.build(pal_lab)
    fast_full = nearest(cells, full)
    started = time.perf_counter()
    brute_full, _ = nearest_brute(cells, full)
    t_brute_full = time.perf_counter() - started
    t_fast_full = median_s(lambda: nearest(cells, full), 1)
    agree_full = float(np.mean(fast_full.index == brute_full))
    print(
        f"  mapping {len(cells)} cells → all {len(pal_lab)} DMC colours: fast {t_fast_full * 1000:.1f} ms "
        f"({fast_full.brute_cells} cells left to brute force), brute-force CIEDE2000 {t_brute_full * 1000:.1f} ms, "
        f"agreement {agree_full * 100:.3f} %"
    )


def test_photos() -> list[Any]:
    """The quality photos: every face, then every CBSD68 photo (sorted by name)."""
    sets = SHARED / "testsets"
    return [*sorted((sets / "faces").glob("*.png")), *sorted((sets / "CBSD68").glob("*.png"))]


def cell_means(pixels: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """(rows * cols, 3) mean sRGB of the preview pixels whose centre falls in each cell."""
    height, width = pixels.shape[:2]
    cell_x = np.minimum(((np.arange(width) + 0.5) * cols / width).astype(np.int64), cols - 1)
    cell_y = np.minimum(((np.arange(height) + 0.5) * rows / height).astype(np.int64), rows - 1)
    index = (cell_y[:, None] * cols + cell_x[None, :]).ravel()
    n = cols * rows
    counts = np.bincount(index, minlength=n)
    flat = pixels.reshape(-1, 3).astype(np.float64)
    return np.stack([np.bincount(index, flat[:, k], n) / counts for k in range(3)], axis=1)


def preview_error(plan: DotPlan, width: int) -> np.ndarray:
    """CIEDE2000 between each cell of the preview, averaged over its pixels, and the plan's colour of that cell."""
    pixels = np.asarray(render_preview_image(plan, width))
    means = cell_means(pixels, plan.cols, plan.rows)
    expected = legend_rgb(plan)[np.asarray(plan.grid).ravel()].astype(np.float64)
    return ciede2000(srgb_to_lab(means), srgb_to_lab(expected))


def quality(palette: Palette, limit: int | None) -> None:
    """Cleanup and preview figures on the test photos (see the module docstring)."""
    photos = test_photos()[:limit]
    if not photos:
        print("quality: no test photos under ../shared/testsets")
        return
    base = CanvasSettings(width_cm=40.0, height_cm=50.0, pitch_mm=2.5, max_colors=40)
    limits = Limits()
    rows: list[tuple[str, float, float, float, float]] = []
    preview_de: dict[str, list[tuple[str, np.ndarray]]] = {"square": [], "round": []}
    started = time.perf_counter()
    for path in photos:
        cells = sample(path.read_bytes(), base, limits)
        raw = plan_from_grid(cells, palette, base.model_copy(update={"cleanup": False}))
        plan = plan_from_grid(cells, palette, base)
        rows.append(
            (
                path.parent.name,
                raw.quality["mean_delta_e"],
                raw.quality["isolated_share"],
                plan.quality["mean_delta_e"],
                plan.quality["isolated_share"],
            )
        )
        for shape in preview_de:
            plan.drill_shape = shape
            preview_de[shape].append((path.parent.name, preview_error(plan, PREVIEW_WIDTH)))
    took = time.perf_counter() - started
    print(
        f"quality: {len(photos)} photos ({sum(r[0] == 'faces' for r in rows)} faces, "
        f"{sum(r[0] == 'CBSD68' for r in rows)} CBSD68) at 40x50 cm = 160x200 cells, DMC, K = 40 ({took:.0f} s)"
    )
    groups = [("faces", [r for r in rows if r[0] == "faces"]), ("CBSD68", [r for r in rows if r[0] == "CBSD68"])]
    for name, group in [*groups, ("all", rows)]:
        if not group:
            continue
        raw_de, raw_iso, de, iso = (float(np.mean([r[k] for r in group])) for k in (1, 2, 3, 4))
        status = "met" if iso <= 0.01 and de <= 4.5 else "NOT met"
        print(
            f"  cleanup, {name:<6} ({len(group):>2} photos): mean ΔE00 {de:.2f}, isolated {iso * 100:.2f} %  "
            f"(no cleanup: mean ΔE00 {raw_de:.2f}, isolated {raw_iso * 100:.2f} %); goal <= 1 % at <= 4.5: {status}"
        )
    # Portraits (faces) get 7.5 px a cell at 1200 px, landscapes (CBSD68) 6: whole pixels average exactly.
    for shape, errors in preview_de.items():
        for name in ("faces", "CBSD68", "all"):
            chosen = [e for group, e in errors if name in (group, "all")]
            if not chosen:
                continue
            cell_de = np.concatenate(chosen)
            median = float(np.median(cell_de))
            status = "met" if median <= 2.0 else "NOT met"
            print(
                f"  preview {PREVIEW_WIDTH} px, {shape} drills, {name:<6}: cell average vs plan colour, median ΔE00 "
                f"{median:.2f}, p95 {np.percentile(cell_de, 95):.2f} over {len(cell_de):,} cells (goal <= 2: {status})"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--image", type=int, default=0, help="which CBSD68 photo to upscale")
    parser.add_argument("--photos", type=int, default=None, help="use only the first N quality photos")
    parser.add_argument("--no-speed", action="store_true", help="skip the timings")
    parser.add_argument("--no-quality", action="store_true", help="skip the cleanup and preview figures")
    args = parser.parse_args()
    one_core()
    palette = parse_palette_csv(DMC.read_text(encoding="utf-8-sig"), name="dmc")
    if not args.no_speed:
        speed(palette, args.repeat, args.image)
    if not args.no_quality:
        quality(palette, args.photos)


def speed(palette: Palette, repeat: int, image: int) -> None:
    """Plan, preview, guide and mapping timings on one 12 MP photo."""
    data = make_photo(4000, 3000, seed_image=image, quality=90)
    print(f"photo: 4000x3000 JPEG q90, {len(data) / 1e6:.1f} MB; palette: {len(palette.colors)} DMC colours; one core")
    limits = Limits()
    for width_cm, height_cm, goal in SIZES:
        settings = CanvasSettings(width_cm=width_cm, height_cm=height_cm, pitch_mm=2.5, max_colors=40, cleanup=True)
        plan = make_plan(data, palette, settings, limits)
        plan_once = functools.partial(make_plan, data, palette, settings, limits)
        t_plan = median_s(plan_once, repeat)
        line = (
            f"{width_cm:g}x{height_cm:g} cm = {plan.cols}x{plan.rows} cells, {len(plan.legend)} colours, "
            f"mean ΔE00 {plan.quality['mean_delta_e']:.2f}, p95 {plan.quality['p95_delta_e']:.2f}: "
            f"plan {t_plan * 1000:.0f} ms"
        )
        t_both = median_s(functools.partial(plan_and_preview, plan_once), repeat)
        status = "met" if t_both <= goal else "NOT met"
        line += f", plan + {PREVIEW_WIDTH} px preview {t_both * 1000:.0f} ms (goal {goal * 1000:.0f} ms: {status})"
        print(line)
        if width_cm == 40:
            t_guide = median_s(functools.partial(render_guide, plan), 3)
            pdf = render_guide(plan)
            status = "met" if t_guide <= 2.0 else "NOT met"
            print(f"  PDF guide (A4): {t_guide * 1000:.0f} ms, {len(pdf) / 1e6:.2f} MB (goal 2000 ms: {status})")
            t_bw = median_s(functools.partial(render_guide, plan, colour=False), 3)
            print(f"  PDF guide, black and white (A4): {t_bw * 1000:.0f} ms")
        mapping_check(data, palette, settings, repeat)


if __name__ == "__main__":
    main()
