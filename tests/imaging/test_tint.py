"""tint: a flat blend toward a colour, or luminance mapped onto it (multiply)."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from tests import images
from tests.imaging.tone_helpers import refused_fields, run_op, with_alpha_ramp


def test_blend_moves_every_pixel_toward_the_colour_by_strength() -> None:
    out = run_op("tint", {"color": "#ff0000", "strength": 0.5}, Image.new("RGB", (4, 4), (0, 100, 200)))
    assert images.near(out.getpixel((0, 0)), (127, 50, 100), 1)


def test_strength_one_gives_the_flat_colour_and_zero_the_image() -> None:
    src = Image.new("RGB", (4, 4), (10, 200, 30))
    assert run_op("tint", {"color": [1, 2, 3], "strength": 1}, src).getpixel((0, 0)) == (1, 2, 3)
    assert run_op("tint", {"color": "navy", "strength": 0}, src).getpixel((0, 0)) == (10, 200, 30)


def test_multiply_keeps_black_and_turns_white_into_the_colour() -> None:
    src = Image.new("RGB", (30, 10), (0, 0, 0))
    src.paste((255, 255, 255), (10, 0, 20, 10))
    src.paste((128, 128, 128), (20, 0, 30, 10))
    out = run_op("tint", {"color": "#ff8000", "strength": 1, "mode": "multiply"}, src)
    assert out.getpixel((5, 5)) == (0, 0, 0)
    assert out.getpixel((15, 5)) == (255, 128, 0)
    assert images.near(out.getpixel((25, 5)), (128, 64, 0), 1)  # grey: half the colour


def test_multiply_uses_luminance_of_colour_pixels() -> None:
    out = run_op("tint", {"color": "#ffffff", "strength": 1, "mode": "multiply"}, Image.new("RGB", (4, 4), (255, 0, 0)))
    assert images.near(out.getpixel((0, 0)), (76, 76, 76), 1)  # white tint of pure red: its luma


def test_multiply_at_half_strength_mixes_with_the_image() -> None:
    out = run_op("tint", {"color": "#0000ff", "mode": "multiply"}, Image.new("RGB", (4, 4), (200, 200, 200)))
    assert images.near(out.getpixel((0, 0)), (100, 100, 200), 1)


def test_a_translucent_colour_scales_strength() -> None:
    out = run_op("tint", {"color": "#ff000080", "strength": 1}, Image.new("RGB", (4, 4), (0, 0, 0)))
    assert images.near(out.getpixel((0, 0)), (128, 0, 0), 1)


@pytest.mark.parametrize(("mode", "expected"), [("blend", (50, 177, 50)), ("multiply", (50, 100, 50))])
def test_grey_input_becomes_rgb(mode: str, expected: tuple[int, int, int]) -> None:
    out = run_op("tint", {"color": "#00ff00", "mode": mode}, Image.new("L", (4, 4), 100))
    assert out.mode == "RGB"
    assert images.near(out.getpixel((0, 0)), expected, 1)


@pytest.mark.parametrize("mode", ["blend", "multiply"])
def test_alpha_is_untouched_and_grey_with_alpha_becomes_rgba(mode: str) -> None:
    src = with_alpha_ramp(Image.new("L", (16, 4), 90))
    out = run_op("tint", {"color": "teal", "mode": mode}, src)
    assert out.mode == "RGBA"
    assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"color": "#00ff00", "strength": 1.5}, "params.strength"),
        ({"color": "#00ff00", "strength": -0.5}, "params.strength"),
        ({"color": "not-a-colour"}, "params.color"),
        ({"color": [300, 0, 0]}, "params.color"),
        ({"strength": 0.5}, "params.color"),
        ({"color": "red", "mode": "overlay"}, "params.mode"),
    ],
)
def test_bad_parameters_are_refused_before_running(params: dict[str, Any], field: str) -> None:
    assert refused_fields("tint", params) == [field]
