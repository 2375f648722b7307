from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from pixmill.canvas.color import ciede2000, srgb_to_lab
from pixmill.canvas.preview import (
    encode_png,
    render_flat,
    render_preview,
    render_preview_image,
)
from pixmill.canvas.types import CanvasError
from tests.canvas.dotplans import make_plan


def _decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.mode == "RGB"
    return np.asarray(image).astype(int)


@pytest.mark.parametrize(
    ("cols", "rows", "width", "height"),
    [(160, 200, 1200, 1500), (40, 30, 400, 300), (30, 17, 500, 283), (17, 30, 101, 178), (160, 200, 100, 125)],
)
def test_preview_size_follows_the_canvas_aspect(cols: int, rows: int, width: int, height: int) -> None:
    plan = make_plan(cols, rows)
    for fmt in ("png", "jpeg"):
        image = Image.open(io.BytesIO(render_preview(plan, width, fmt=fmt)))
        assert image.format == fmt.upper()
        assert image.size == (width, height)


@pytest.mark.parametrize("shape", ["square", "round"])
@pytest.mark.parametrize("cell_px", [11, 7.5, 5])  # the centre falls inside a pixel
def test_each_cell_centre_shows_its_legend_colour(shape: str, cell_px: float) -> None:
    plan = make_plan(40, 30, shape=shape, pattern="random", seed=3)
    width = round(plan.cols * cell_px)
    pixels = _decode(render_preview(plan, width))
    rgb = np.array([e.rgb for e in plan.legend])
    ys = ((np.arange(plan.rows) + 0.5) * pixels.shape[0] / plan.rows).astype(int)
    xs = ((np.arange(plan.cols) + 0.5) * pixels.shape[1] / plan.cols).astype(int)
    centres = pixels[ys[:, None], xs[None, :]]
    expected = rgb[plan.grid]
    assert np.abs(centres - expected).max() <= 30  # a drill is a little darker than its cell (the gap is lighter)
    # The same shade on every channel: the drill keeps its colour's hue, only a little darker.
    offset = centres - expected
    assert (offset.max(axis=2) - offset.min(axis=2) <= 1).all()
    assert (offset <= 1).all()


def _cell_means(pixels: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """(rows * cols, 3) mean sRGB of the pixels whose centre falls in each cell."""
    height, width = pixels.shape[:2]
    cell_x = np.minimum(((np.arange(width) + 0.5) * cols / width).astype(int), cols - 1)
    cell_y = np.minimum(((np.arange(height) + 0.5) * rows / height).astype(int), rows - 1)
    index = (cell_y[:, None] * cols + cell_x[None, :]).ravel()
    n = cols * rows
    counts = np.bincount(index, minlength=n)
    return np.stack([np.bincount(index, pixels[..., k].ravel(), n) / counts for k in range(3)], axis=1)


@pytest.mark.parametrize("shape", ["square", "round"])
@pytest.mark.parametrize("cell_px", [30, 7.5, 5, 3, 2.5])
def test_each_cell_averages_to_its_plan_colour(shape: str, cell_px: float) -> None:
    plan = make_plan(40, 30, n_colors=36, shape=shape, pattern="random", seed=4)
    pixels = _decode(render_preview(plan, round(plan.cols * cell_px)))
    means = _cell_means(pixels.astype(np.float64), plan.cols, plan.rows)
    expected = np.array([e.rgb for e in plan.legend], dtype=np.float64)[plan.grid.ravel()]
    de = ciede2000(srgb_to_lab(means), srgb_to_lab(expected))
    assert np.median(de) <= 1.0
    # Cells two or three pixels wide (2.5 px a cell) sample their drill coarsely: a little further off.
    assert np.percentile(de, 90) <= (2.0 if cell_px >= 3 else 3.0)


def test_black_and_white_drills_still_show_their_gaps() -> None:
    plan = make_plan(6, 6, n_colors=2, seed=1)
    plan.legend[0] = replace(plan.legend[0], rgb=(0, 0, 0))
    plan.legend[1] = replace(plan.legend[1], rgb=(255, 255, 255))
    cell = 30
    pixels = _decode(render_preview(plan, plan.cols * cell)).sum(axis=2)
    for colour in (0, 1):
        i, j = np.argwhere(plan.grid == colour)[0]
        block = pixels[i * cell : (i + 1) * cell, j * cell : (j + 1) * cell]
        assert block.max() - block.min() > 30  # not a flat square


@pytest.mark.parametrize("shape", ["round", "square"])
def test_the_gaps_between_drills_are_light(shape: str) -> None:
    plan = make_plan(20, 16, n_colors=1, shape=shape, seed=5)
    cell = 30
    pixels = _decode(render_preview(plan, plan.cols * cell))
    colour = np.array(plan.legend[0].rgb)
    corners = pixels[cell::cell, cell::cell]  # where four cells meet
    assert (corners.sum(axis=2) > colour.sum() + 20).all()
    # Between two drills side by side, on the line through their centres, the gap still shows.
    between = pixels[cell // 2 :: cell, cell::cell]
    assert (between.sum(axis=2) > colour.sum() + 20).all()


def test_square_drills_are_shaded_lighter_top_left_and_darker_bottom_right() -> None:
    plan = make_plan(4, 4, n_colors=1, seed=1)
    cell = 40
    pixels = _decode(render_preview(plan, plan.cols * cell)).sum(axis=2)
    top_left, centre, bottom_right = pixels[4, 4], pixels[cell // 2 + 4, cell // 2 + 4], pixels[cell - 5, cell - 5]
    assert top_left > centre > bottom_right


def test_round_preview_is_antialiased() -> None:
    plan = make_plan(10, 10, n_colors=1, shape="round", seed=2)
    cell = 30
    pixels = _decode(render_preview(plan, plan.cols * cell))
    gap = pixels[0, 0]  # a corner: all gap
    colour = pixels[cell // 2, cell // 2]  # the drill's table
    # Along a row through the drill centres the edge passes through in-between values, not a hard step.
    row = pixels[cell // 2, :cell]
    towards = np.abs(row - gap).sum(axis=1) / np.abs(colour - gap).sum()
    assert ((towards > 0.15) & (towards < 0.85)).any()


def test_preview_bytes_are_deterministic() -> None:
    plan = make_plan(60, 45, shape="round", pattern="bands")
    assert render_preview(plan, 640) == render_preview(plan, 640)
    assert render_preview(plan, 640, fmt="jpeg", quality=80) == render_preview(plan, 640, fmt="jpeg", quality=80)
    other = make_plan(60, 45, shape="round", pattern="bands", seed=9)
    assert render_preview(other, 640) != render_preview(plan, 640)


def test_png_matches_the_image_and_jpeg_quality_changes_size() -> None:
    plan = make_plan(50, 40, pattern="bands")
    png = _decode(render_preview(plan, 375))
    assert np.array_equal(png, np.asarray(render_preview_image(plan, 375)).astype(int))
    assert len(render_preview(plan, 375, fmt="jpeg", quality=40)) < len(
        render_preview(plan, 375, fmt="jpeg", quality=95)
    )


def test_encode_png_round_trips() -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)
    rgbx = np.concatenate([pixels, np.full((7, 5, 1), 9, dtype=np.uint8)], axis=2)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(rgbx, 6)))), pixels)


def test_a_big_preview_is_fast() -> None:
    plan = make_plan(160, 200, pattern="bands")
    render_preview_image(plan, 1200)
    best = min(_timed(lambda: render_preview_image(plan, 1200)) for _ in range(3))
    assert best < 0.2  # about 0.02 s on one core; generous for shared machines


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_render_flat_is_one_pixel_per_cell() -> None:
    plan = make_plan(13, 9)
    flat = render_flat(plan)
    assert flat.size == (13, 9) and flat.mode == "RGB"
    assert np.array_equal(np.asarray(flat), np.array([e.rgb for e in plan.legend], dtype=np.uint8)[plan.grid])


def test_bad_plans_and_options_are_canvas_errors() -> None:
    plan = make_plan(10, 8)
    with pytest.raises(CanvasError):
        render_preview(plan, 0)
    with pytest.raises(CanvasError):
        render_preview(plan, 100, fmt="gif")  # type: ignore[arg-type]
    with pytest.raises(CanvasError):
        render_preview(plan, 100, fmt="jpeg", quality=0)
    with pytest.raises(CanvasError):
        render_preview(plan, 100_000)
    wrong_shape = make_plan(10, 8)
    wrong_shape.grid = wrong_shape.grid[:, :5]
    with pytest.raises(CanvasError, match="grid"):
        render_preview(wrong_shape, 100)
    out_of_legend = make_plan(10, 8, n_colors=3)
    out_of_legend.grid[0, 0] = 3
    with pytest.raises(CanvasError, match="legend"):
        render_preview(out_of_legend, 100)
    odd_shape = make_plan(10, 8)
    odd_shape.drill_shape = "hexagon"
    with pytest.raises(CanvasError, match="drill shape"):
        render_flat(odd_shape)
