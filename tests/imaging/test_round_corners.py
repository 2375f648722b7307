"""round_corners: transparent, antialiased quarter-circle corners; the output always has alpha."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.ops.round_corners import corner_mask
from tests.imaging.filter_helpers import pixels, refusals, run_node


def alpha(im: Image.Image) -> np.ndarray:
    return pixels(im)[:, :, -1]


def test_corners_are_transparent_and_the_rest_opaque() -> None:
    src = Image.new("RGB", (120, 80), (200, 50, 10))
    out = run_node("round_corners", {"radius": 20}, src)
    assert out.mode == "RGBA" and out.size == src.size
    a = alpha(out)
    for x, y in ((0, 0), (119, 0), (0, 79), (119, 79), (3, 3), (116, 76)):
        assert a[y, x] == 0, (x, y)
    for x, y in ((60, 40), (60, 0), (0, 40), (119, 40), (60, 79), (20, 0), (0, 20), (10, 10)):
        assert a[y, x] == 255, (x, y)
    assert (pixels(out)[:, :, :3] == (200, 50, 10)).all()  # colour kept under the alpha


def test_the_edge_is_antialiased_along_the_quarter_circle() -> None:
    r = 30
    a = alpha(run_node("round_corners", {"radius": r}, Image.new("RGB", (100, 100), (0, 0, 0))))
    ys, xs = np.mgrid[0:r, 0:r] + 0.5
    distance = np.hypot(xs - r, ys - r)  # from the corner circle's centre
    corner = a[:r, :r]
    assert (corner[distance < r - 1] == 255).all()
    assert (corner[distance > r + 1] == 0).all()
    edge = corner[np.abs(distance - r) < 0.3]
    assert ((edge > 40) & (edge < 215)).all()  # partly covered pixels are partly opaque
    coverage = corner.sum() / 255  # pixels' worth of opacity: the quarter disc inside the corner square
    assert abs(coverage - np.pi * r * r / 4) < 1


def test_the_four_corners_are_mirror_images() -> None:
    a = alpha(run_node("round_corners", {"radius": 17}, Image.new("RGB", (60, 40), (0, 0, 0))))
    assert (a == a[:, ::-1]).all() and (a == a[::-1, :]).all()


def test_radius_percent_50_on_a_square_gives_a_disc() -> None:
    a = alpha(run_node("round_corners", {"radius_percent": 50}, Image.new("L", (80, 80), 90)))
    ys, xs = np.mgrid[0:80, 0:80] + 0.5
    distance = np.hypot(xs - 40, ys - 40)
    assert (a[distance < 39] == 255).all()
    assert (a[distance > 41] == 0).all()


def test_radius_percent_is_of_the_shorter_side() -> None:
    by_percent = alpha(run_node("round_corners", {"radius_percent": 25}, Image.new("RGB", (200, 80))))
    by_pixels = alpha(run_node("round_corners", {"radius": 20}, Image.new("RGB", (200, 80))))
    assert (by_percent == by_pixels).all()


def test_a_radius_over_half_the_short_side_is_capped() -> None:
    capped = alpha(run_node("round_corners", {"radius": 10_000}, Image.new("RGB", (100, 60))))
    half = alpha(run_node("round_corners", {"radius": 30}, Image.new("RGB", (100, 60))))
    assert (capped == half).all()
    assert capped[30, 50] == 255 and capped[0, 50] == 255 and capped[0, 0] == 0


def test_grey_gets_la_and_existing_alpha_is_multiplied() -> None:
    out = run_node("round_corners", {"radius": 10}, Image.new("L", (40, 40), 70))
    assert out.mode == "LA"
    src = Image.new("RGBA", (40, 40), (1, 2, 3, 100))
    out = run_node("round_corners", {"radius": 10}, src)
    a = alpha(out)
    assert out.mode == "RGBA" and a[20, 20] == 100 and a[0, 0] == 0
    assert a[:10, :10].max() <= 100


def test_the_corner_mask_is_drawn_the_same_in_bands(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = np.asarray(corner_mask(150.5))
    monkeypatch.setattr("pixmill.imaging.ops.round_corners._BAND", 7)
    assert (np.asarray(corner_mask(150.5)) == whole).all()


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "params", "exactly one of radius and radius_percent"),
        ({"radius": 5, "radius_percent": 10}, "params", "exactly one of radius and radius_percent"),
        ({"radius": 0}, "params.radius", "greater than or equal"),
        ({"radius": 10_001}, "params.radius", "less than or equal"),
        ({"radius_percent": 0}, "params.radius_percent", "greater than"),
        ({"radius_percent": 51}, "params.radius_percent", "less than or equal"),
    ],
)
def test_bad_parameters_are_refused_with_node_and_field(params: dict[str, Any], field: str, words: str) -> None:
    (problem,) = refusals("round_corners", params)
    assert problem[0] == field and words in problem[1], problem
