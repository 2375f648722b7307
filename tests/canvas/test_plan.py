from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pixmill.canvas.grid import CanvasSettings
from pixmill.canvas.legend import CLEAR_SYMBOLS, LOOKALIKES, SYMBOLS, bags_needed, look_alike
from pixmill.canvas.plan import make_plan
from pixmill.canvas.types import CanvasError, DotPlan, Palette
from pixmill.imaging.limits import Limits
from tests import images


def photo(width: int = 480, height: int = 600, seed: int = 0) -> bytes:
    """A photo-like JPEG: gradients, a few shapes and grain."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    rgb = np.stack([200 * x + 40, 160 * y + 60 * np.sin(8 * x), 220 * (1 - x * y)], axis=-1)
    im = Image.fromarray(np.clip(rgb + rng.normal(0, 10, rgb.shape), 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    draw.ellipse((80, 120, 300, 360), fill=(230, 190, 160))
    draw.rectangle((320, 400, 440, 560), fill=(20, 40, 90))
    return images.encode(im, "JPEG", quality=90)


def plan_json(plan: DotPlan) -> str:
    return json.dumps(plan.to_json(), sort_keys=True)


def test_a_plan_covers_every_cell(dmc: Palette) -> None:
    settings = CanvasSettings(cols=40, rows=50, max_colors=12, drills_per_bag=100, spare_percent=15)
    plan = make_plan(photo(), dmc, settings, Limits())
    assert (plan.cols, plan.rows) == (40, 50)
    assert plan.grid.shape == (50, 40) and plan.grid.dtype == np.int16
    assert 1 <= len(plan.legend) <= 12
    assert sum(e.count for e in plan.legend) == 40 * 50
    assert all(e.count > 0 for e in plan.legend)
    counts = np.bincount(plan.grid.ravel(), minlength=len(plan.legend))
    assert counts.tolist() == [e.count for e in plan.legend]
    assert counts.tolist() == sorted(counts.tolist(), reverse=True)  # most used first
    assert len({e.symbol for e in plan.legend}) == len(plan.legend)
    assert len({e.code for e in plan.legend}) == len(plan.legend)
    assert all(e.bags == bags_needed(e.count, 100, 15) for e in plan.legend)
    codes = {c.code: c for c in dmc.colors}
    assert all(codes[e.code].rgb == e.rgb and codes[e.code].name == e.name for e in plan.legend)
    q = plan.quality
    assert q["colors_used"] == len(plan.legend)
    assert q["isolated_share"] <= 0.01  # cleanup is on by default (a costly stray cell stays: detail)
    assert 0 < q["mean_delta_e"] <= q["p95_delta_e"] <= q["max_delta_e"]
    assert (plan.cell_mm, plan.drill_shape, plan.palette_name) == (2.5, "square", "dmc")


def test_plans_are_byte_identical_for_the_same_input(dmc: Palette) -> None:
    data = photo(seed=3)
    settings = CanvasSettings(cols=36, rows=45, max_colors=20)
    first = plan_json(make_plan(data, dmc, settings, Limits()))
    second = plan_json(make_plan(data, dmc, settings, Limits()))
    assert first == second
    assert plan_json(DotPlan.from_json(json.loads(first))) == first


def test_a_picture_of_palette_colours_keeps_exactly_those(dmc: Palette) -> None:
    picked = [7, 42, 150, 260, 301, 444]
    cell = 6
    layout = np.array([[0, 0, 1, 1, 2], [3, 3, 1, 4, 2], [5, 5, 5, 4, 2], [0, 3, 3, 4, 4]])  # blocks of cells
    blocks = np.kron(layout, np.ones((4, 4), dtype=np.int64))  # 16 x 20 cells, every block at least 4x4
    rgb = dmc.rgb_array()[np.array(picked)][blocks]
    im = Image.fromarray(rgb, "RGB").resize((20 * cell, 16 * cell), Image.Resampling.NEAREST)
    for cleanup in (False, True):
        settings = CanvasSettings(cols=20, rows=16, max_colors=40, cleanup=cleanup)
        plan = make_plan(images.encode(im, "PNG"), dmc, settings, Limits())
        assert sorted(e.code for e in plan.legend) == sorted(dmc.colors[i].code for i in picked)
        assert plan.quality["mean_delta_e"] == 0.0 and plan.quality["max_delta_e"] == 0.0
        codes = np.array([plan.legend[i].code for i in plan.grid.ravel()]).reshape(16, 20)
        expected = np.array([dmc.colors[picked[i]].code for i in blocks.ravel()]).reshape(16, 20)
        assert np.array_equal(codes, expected)


def test_dithering_and_options(dmc: Palette) -> None:
    data = photo(200, 160, seed=5)
    base = CanvasSettings(cols=30, rows=24, max_colors=8, cleanup=False)
    plain = make_plan(data, dmc, base, Limits())
    dithered = make_plan(data, dmc, base.model_copy(update={"dither": True, "dither_strength": 1.0}), Limits())
    assert not np.array_equal(plain.grid, dithered.grid)
    assert sum(e.count for e in dithered.legend) == 30 * 24
    assert plain.quality["isolated_share"] > 0  # without cleanup a noisy photo leaves isolated cells
    round_ = make_plan(data, dmc, base.model_copy(update={"drill_shape": "round", "pitch_mm": 2.8}), Limits())
    assert (round_.drill_shape, round_.cell_mm) == ("round", 2.8)


def test_an_empty_palette_is_refused() -> None:
    with pytest.raises(CanvasError):
        make_plan(photo(40, 50), Palette("none", ()), CanvasSettings(cols=4, rows=5), Limits())


def test_a_40_colour_plan_uses_no_look_alike_symbols(dmc: Palette) -> None:
    plan = make_plan(photo(seed=3), dmc, CanvasSettings(cols=80, rows=100, max_colors=40), Limits())
    symbols = [e.symbol for e in plan.legend]
    assert len(symbols) == len(set(symbols)) >= 30
    for a, b in LOOKALIKES:
        assert not (a in symbols and b in symbols), (a, b)
    assert not [(a, b) for a, b in itertools.combinations(symbols, 2) if look_alike(a, b)]
    assert set(symbols) <= set(SYMBOLS[:CLEAR_SYMBOLS])
