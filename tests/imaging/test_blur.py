"""blur: smooths without moving the mean, keeps alpha, does not bleed hidden colour, refuses bad sigma."""

from __future__ import annotations

import pytest
from PIL import Image

from tests import images
from tests.imaging.filter_helpers import pixels, refusals, run_node


def test_blur_lowers_the_variance_of_noise_and_keeps_the_mean() -> None:
    src = images.noise(96, 64, seed=3)
    out = run_node("blur", {"sigma": 2.0}, src)
    assert out.size == src.size and out.mode == "RGB"
    before, after = pixels(src), pixels(out)
    assert after.var() < before.var() / 10
    assert abs(after.mean() - before.mean()) < 1.5


def test_larger_sigma_blurs_more() -> None:
    src = images.noise(96, 64, seed=4)
    variances = [pixels(run_node("blur", {"sigma": s}, src)).var() for s in (0.5, 1.5, 4.0)]
    assert variances[0] > variances[1] > variances[2]


def test_a_flat_image_is_unchanged() -> None:
    src = Image.new("RGB", (40, 30), (12, 200, 77))
    assert (pixels(run_node("blur", {"sigma": 250}, src)) == pixels(src)).all()


def test_blur_spreads_an_edge_symmetrically() -> None:
    src = Image.new("L", (60, 10), 0)
    src.paste(255, (30, 0, 60, 10))
    row = pixels(run_node("blur", {"sigma": 3}, src))[5, :, 0]
    assert row[0] == 0 and row[-1] == 255
    assert 0 < row[27] < row[29] < 128 < row[30] < row[32] < 255
    assert abs(int(row[29]) + int(row[30]) - 255) <= 2


@pytest.mark.parametrize("mode", ["LA", "RGBA"])
def test_alpha_is_kept_and_transparent_colour_does_not_bleed(mode: str) -> None:
    # left half transparent but white underneath, right half opaque black
    src = Image.new("RGBA", (40, 20), (255, 255, 255, 0))
    src.paste((0, 0, 0, 255), (20, 0, 40, 20))
    src = src.convert(mode)
    out = run_node("blur", {"sigma": 3}, src)
    assert out.mode == mode
    a = pixels(out)
    alpha = a[:, :, -1]
    assert alpha[10, 0] == 0 and alpha[10, 39] == 255
    assert 0 < alpha[10, 18] < alpha[10, 21] < 255  # the alpha edge is blurred too
    visible = alpha > 0
    assert a[:, :, :-1][visible].max() <= 2  # no white shows through where there is any opacity


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.sigma"),
        ({"sigma": 0}, "params.sigma"),
        ({"sigma": 251}, "params.sigma"),
        ({"sigma": 1, "radius": 2}, "params.radius"),
    ],
)
def test_bad_parameters_are_refused_with_node_and_field(params: dict, field: str) -> None:
    assert [f for f, _ in refusals("blur", params)] == [field]
