from __future__ import annotations

import io
import time
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from pixmill.canvas.model import CanvasError
from pixmill.canvas.preview import (
    GAP_RGB,
    encode_png,
    render_flat,
    render_preview,
    render_preview_image,
)
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
    assert np.abs(centres - expected).max() <= 12
    # And the preview is not just flat squares: the nearest legend colour at every centre is the cell's own.
    nearest = np.abs(centres[:, :, None, :] - rgb[None, None, :, :]).sum(axis=3).argmin(axis=2)
    assert (nearest == plan.grid).all()


@pytest.mark.parametrize("shape", ["round", "square"])
def test_the_gap_shows_between_drills(shape: str) -> None:
    plan = make_plan(20, 16, shape=shape, seed=5)
    cell = 30
    pixels = _decode(render_preview(plan, plan.cols * cell))
    gap = np.array(GAP_RGB)
    corners = pixels[cell::cell, cell::cell]  # where four cells meet
    assert np.abs(corners - gap).max() <= 3
    # Between two drills side by side, on the line through their centres, the gap still shows.
    for x in (cell - 1, cell):
        between = pixels[cell // 2 :: cell, x::cell]
        assert np.abs(between - gap).max() <= 10


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
    gap = np.array(GAP_RGB)
    colour = np.array(plan.legend[0].rgb)
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
