from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def run(im: Image.Image, steps: list[dict[str, Any]]) -> Image.Image:
    """Run `steps` on `im` (sent as PNG, so pixels are exact) and decode the PNG result."""
    p = parse_pipeline([*steps, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def flip(im: Image.Image, direction: str) -> Image.Image:
    return run(im, [{"op": "flip", "params": {"direction": direction}}])


def quadrant_colours(im: Image.Image) -> list[object]:
    """Top-left, top-right, bottom-left, bottom-right."""
    w, h = im.size
    return [im.getpixel(xy) for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]


@pytest.mark.parametrize(
    ("direction", "colours", "transpose"),
    [
        ("horizontal", [GREEN, RED, WHITE, BLUE], Image.Transpose.FLIP_LEFT_RIGHT),
        ("vertical", [BLUE, WHITE, RED, GREEN], Image.Transpose.FLIP_TOP_BOTTOM),
        ("both", [WHITE, BLUE, GREEN, RED], Image.Transpose.ROTATE_180),
    ],
)
def test_each_direction_mirrors_the_quadrants(
    direction: str, colours: list[object], transpose: Image.Transpose
) -> None:
    src = images.quadrants(40, 30)
    out = flip(src, direction)
    assert out.size == (40, 30)
    assert quadrant_colours(out) == colours
    assert out.tobytes() == src.transpose(transpose).tobytes()


def test_a_mirror_moves_each_pixel_to_the_other_side_exactly() -> None:
    src = images.noise(17, 9, seed=3)
    out = flip(src, "horizontal")
    assert out.getpixel((0, 4)) == src.getpixel((16, 4))
    assert out.getpixel((16, 0)) == src.getpixel((0, 0))


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "both"])
def test_flipping_twice_gives_back_the_same_bytes(direction: str) -> None:
    src = images.noise(31, 19, seed=8)
    step = {"op": "flip", "params": {"direction": direction}}
    assert run(src, [step, step]).tobytes() == src.tobytes()


def test_both_is_horizontal_then_vertical() -> None:
    src = images.noise(31, 19, seed=8)
    horizontal_then_vertical = run(
        src,
        [{"op": "flip", "params": {"direction": "horizontal"}}, {"op": "flip", "params": {"direction": "vertical"}}],
    )
    assert flip(src, "both").tobytes() == horizontal_then_vertical.tobytes()


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA"])
def test_modes_and_alpha_are_kept(mode: str) -> None:
    src = images.quadrants(20, 10).convert(mode)
    if mode in ("LA", "RGBA"):
        src.putalpha(Image.linear_gradient("L").resize((20, 10)))
    out = flip(src, "vertical")
    assert out.mode == mode
    assert out.tobytes() == src.transpose(Image.Transpose.FLIP_TOP_BOTTOM).tobytes()


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({}, "params.direction", "Field required"),
        ({"direction": "diagonal"}, "params.direction", "'horizontal', 'vertical' or 'both'"),
        ({"direction": "both", "axis": "x"}, "params.axis", "not permitted"),
    ],
)
def test_bad_params_are_refused_before_running(params: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "flip", "params": params}])
    assert err.value.errors[0]["field"] == field
    assert fragment in err.value.errors[0]["message"]
