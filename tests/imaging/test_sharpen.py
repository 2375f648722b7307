"""sharpen: unsharp mask raises edge contrast, leaves flat areas and alpha alone, honours threshold."""

from __future__ import annotations

import pytest
from PIL import Image

from tests.imaging.filter_helpers import pixels, refusals, run_node


def step_edge(mode: str = "L", size: tuple[int, int] = (60, 20)) -> Image.Image:
    """Grey 100 on the left half, 150 on the right."""
    im = Image.new("L", size, 100)
    im.paste(150, (size[0] // 2, 0, size[0], size[1]))
    return im.convert(mode)


def test_sharpen_raises_contrast_across_an_edge() -> None:
    src = step_edge("RGB")
    out = run_node("sharpen", {"radius": 2, "amount": 150}, src)
    assert out.size == src.size and out.mode == "RGB"
    row = pixels(out)[10, :, 0]
    assert row[29] < 100 - 10 and row[30] > 150 + 10  # overshoot on both sides of the edge
    assert row[0] == 100 and row[-1] == 150  # flat areas untouched
    assert row[30] - row[29] > 50


def test_a_larger_amount_sharpens_more() -> None:
    src = step_edge()
    jumps = []
    for amount in (50, 100, 300):
        row = pixels(run_node("sharpen", {"radius": 2, "amount": amount}, src))[10, :, 0]
        jumps.append(int(row[30]) - int(row[29]))
    assert 50 < jumps[0] < jumps[1] < jumps[2]


def test_differences_under_the_threshold_are_left_alone() -> None:
    src = step_edge()
    out = run_node("sharpen", {"radius": 2, "amount": 200, "threshold": 40}, src)
    assert (pixels(out) == pixels(src)).all()


def test_alpha_is_kept_unchanged() -> None:
    src = step_edge("RGB")
    alpha = Image.linear_gradient("L").resize(src.size)
    src.putalpha(alpha)
    out = run_node("sharpen", {"radius": 1.5}, src)
    assert out.mode == "RGBA"
    assert (pixels(out)[:, :, 3] == pixels(src)[:, :, 3]).all()
    row = pixels(out)[10, :, 0]
    assert row[29] < 100 and row[30] > 150


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.radius"),
        ({"radius": 0.05}, "params.radius"),
        ({"radius": 51}, "params.radius"),
        ({"radius": 1, "amount": 0}, "params.amount"),
        ({"radius": 1, "amount": 501}, "params.amount"),
        ({"radius": 1, "threshold": 256}, "params.threshold"),
        ({"radius": 1, "threshold": -1}, "params.threshold"),
    ],
)
def test_bad_parameters_are_refused_with_node_and_field(params: dict, field: str) -> None:
    assert [f for f, _ in refusals("sharpen", params)] == [field]
