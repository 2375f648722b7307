from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def run(im: Image.Image, steps: list[dict[str, Any]], ctx: RunContext | None = None) -> Image.Image:
    """Run `steps` on `im` (sent as PNG, so pixels are exact) and decode the PNG result."""
    p = parse_pipeline([*steps, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), ctx or RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def rotate(im: Image.Image, **params: Any) -> Image.Image:
    return run(im, [{"op": "rotate", "params": params}])


def test_four_quarter_turns_give_back_the_same_bytes() -> None:
    src = images.noise(37, 23, seed=4)
    out = run(src, [{"op": "rotate", "params": {"angle": 90}}] * 4)
    assert out.size == src.size
    assert out.tobytes() == src.tobytes()


def test_a_quarter_turn_is_clockwise_and_swaps_the_sides() -> None:
    src = images.quadrants(40, 30)
    out = rotate(src, angle=90)
    assert out.size == (30, 40)
    assert out.getpixel((29, 0)) == (255, 0, 0)  # top-left (red) went to the top-right
    assert out.getpixel((29, 39)) == (0, 255, 0)  # top-right (green) went to the bottom-right
    assert out.getpixel((0, 0)) == (0, 0, 255)  # bottom-left (blue) went to the top-left
    assert out.tobytes() == src.transpose(Image.Transpose.ROTATE_270).tobytes()


@pytest.mark.parametrize(
    ("angle", "transpose"),
    [
        (-90, Image.Transpose.ROTATE_90),
        (270, Image.Transpose.ROTATE_90),
        (180, Image.Transpose.ROTATE_180),
        (-180, Image.Transpose.ROTATE_180),
        (450 - 360, Image.Transpose.ROTATE_270),
        (-270, Image.Transpose.ROTATE_270),
    ],
)
def test_multiples_of_ninety_are_lossless(angle: int, transpose: Image.Transpose) -> None:
    src = images.noise(21, 13, seed=1)
    assert rotate(src, angle=angle).tobytes() == src.transpose(transpose).tobytes()


@pytest.mark.parametrize("angle", [0, 360, -360, 0.0])
def test_a_full_turn_changes_nothing(angle: float) -> None:
    src = images.noise(21, 13, seed=1)
    assert rotate(src, angle=angle).tobytes() == src.tobytes()


def test_quarter_turns_ignore_expand_and_keep_alpha() -> None:
    src = Image.new("RGBA", (20, 10), (0, 0, 255, 77))
    out = rotate(src, angle=90, expand=False)
    assert out.size == (10, 20) and out.mode == "RGBA"
    assert out.getpixel((5, 5)) == (0, 0, 255, 77)


def test_other_angles_expand_the_canvas_onto_the_background() -> None:
    src = Image.new("RGB", (40, 30), (255, 0, 0))
    out = rotate(src, angle=30, background="#00ff00")
    expected = src.rotate(-30, expand=True).size
    assert out.size == expected and out.size[0] > 40 and out.size[1] > 30
    assert out.mode == "RGB"
    assert all(images.near(out.getpixel(xy), (0, 255, 0), 5) for xy in ((0, 0), (expected[0] - 1, expected[1] - 1)))
    assert out.getpixel((expected[0] // 2, expected[1] // 2)) == (255, 0, 0)


def test_without_expand_the_size_stays_and_the_corners_are_filled() -> None:
    src = Image.new("RGB", (40, 30), (255, 0, 0))
    out = rotate(src, angle=45, expand=False, background="black")
    assert out.size == (40, 30)
    assert out.getpixel((0, 0)) == (0, 0, 0) and out.getpixel((39, 29)) == (0, 0, 0)
    assert out.getpixel((20, 15)) == (255, 0, 0)


def test_positive_angles_turn_clockwise() -> None:
    src = Image.new("RGB", (60, 20), (255, 255, 255))
    src.paste((255, 0, 0), (50, 0, 60, 20))  # a red end on the right
    out = np.asarray(rotate(src, angle=30))
    ys, _ = np.nonzero((out[..., 0] > 200) & (out[..., 1] < 80))
    assert ys.mean() > out.shape[0] / 2 + 5  # the right end went down: clockwise
    out = np.asarray(rotate(src, angle=-30))
    ys, _ = np.nonzero((out[..., 0] > 200) & (out[..., 1] < 80))
    assert ys.mean() < out.shape[0] / 2 - 5


def test_a_translucent_background_gives_alpha() -> None:
    src = Image.new("RGB", (40, 30), (255, 0, 0))
    out = rotate(src, angle=20, background="#ffffff00")
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert out.getpixel((out.width // 2, out.height // 2)) == (255, 0, 0, 255)


def test_a_half_transparent_background_keeps_its_colour() -> None:
    for src in (Image.new("RGB", (40, 30), (255, 0, 0)), Image.new("RGBA", (40, 30), (255, 0, 0, 255))):
        out = rotate(src, angle=20, background="#00640080")
        assert images.near(out.getpixel((0, 0)), (0, 100, 0, 128), 2)


def test_transparent_pixels_do_not_bleed_their_hidden_colour() -> None:
    src = Image.new("RGBA", (40, 40), (0, 255, 0, 0))  # transparent, hiding green
    src.paste((255, 0, 0, 255), (10, 10, 30, 30))
    out = np.asarray(rotate(src, angle=15, background="#00000000")).astype(int)
    visible = out[..., 3] > 0
    assert (out[..., 1][visible] < 10).all()  # no green anywhere that can be seen


def test_grayscale_stays_grayscale_on_a_grey_background() -> None:
    src = Image.new("L", (40, 30), 30)
    out = rotate(src, angle=10)
    assert out.mode == "L"
    assert out.getpixel((0, 0)) == 255 and out.getpixel((out.width // 2, out.height // 2)) == 30


def test_the_rotated_canvas_must_stay_within_the_limits() -> None:
    p = parse_pipeline([{"op": "rotate", "params": {"angle": 45}}])
    with pytest.raises(InvalidPipeline, match="over the limits") as err:
        run_pipeline(p, images.png(100, 100), RunContext(limits=Limits(max_dimension=120)))
    assert err.value.errors[0]["field"] == "params.angle"
    assert rotate(images.quadrants(100, 100), angle=45, expand=False).size == (100, 100)


def test_rotation_is_deterministic() -> None:
    src = images.noise(50, 40, seed=9)
    first = rotate(src, angle=33.3).tobytes()
    assert rotate(src, angle=33.3).tobytes() == first


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({}, "params.angle", "Field required"),
        ({"angle": 361}, "params.angle", "less than or equal to 360"),
        ({"angle": -400}, "params.angle", "greater than or equal to -360"),
        ({"angle": "left"}, "params.angle", "valid number"),
        ({"angle": 10, "background": "nope"}, "params.background", "is not a colour"),
        ({"angle": 10, "resample": "nearest"}, "params.resample", "not permitted"),
    ],
)
def test_bad_params_are_refused_before_running(params: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "rotate", "params": params}])
    assert err.value.errors[0]["field"] == field
    assert fragment in err.value.errors[0]["message"]
