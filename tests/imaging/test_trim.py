from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext, get_operation
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue, ImageValue
from tests import images


def trim(im: Image.Image, **params: Any) -> Image.Image:
    """Run trim on `im` (sent as PNG, so pixels are exact) and decode the PNG result."""
    p = parse_pipeline([{"op": "trim", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def padded(inner: Image.Image, size: tuple[int, int], at: tuple[int, int], border: tuple[int, ...]) -> Image.Image:
    canvas = Image.new(inner.mode, size, border)
    canvas.paste(inner, at)
    return canvas


def test_a_padded_image_comes_back_as_exactly_the_inner_rectangle() -> None:
    inner = images.quadrants(30, 20)
    out = trim(padded(inner, (100, 80), (17, 23), (255, 255, 255)))
    assert out.size == (30, 20)
    assert out.tobytes() == inner.tobytes()


def test_borders_of_different_widths_on_each_side() -> None:
    inner = images.noise(12, 7, seed=2)
    src = padded(inner, (50, 40), (0, 33), (0, 0, 0))  # nothing left, 38 right, 33 above, nothing below
    out = trim(src, threshold=0)
    assert out.tobytes() == src.crop(src.getbbox()).tobytes()
    assert out.size[1] == 7


def test_the_threshold_is_the_largest_channel_difference_still_counted_as_border() -> None:
    inner = Image.new("RGB", (10, 10), (250, 240, 250))  # 15 off white in green only
    src = padded(inner, (40, 40), (5, 5), (255, 255, 255))
    assert trim(src, threshold=15).size == (40, 40)  # within the tolerance: all border, left as it is
    assert trim(src, threshold=14).size == (10, 10)


def test_near_border_noise_within_the_threshold_is_trimmed() -> None:
    inner = images.quadrants(20, 20)
    src = padded(inner, (60, 50), (10, 20), (200, 200, 200))
    src.putpixel((3, 3), (205, 196, 200))  # jpeg-like speckle in the border
    assert trim(src).size == (20, 20)  # default threshold 10
    assert trim(src, threshold=2).size == (27, 37)  # from the speckle to the far corner


def test_a_uniform_image_is_left_unchanged() -> None:
    src = Image.new("RGB", (30, 20), (12, 34, 56))
    out = trim(src)
    assert out.size == (30, 20)
    assert out.tobytes() == src.tobytes()


def test_a_given_colour_replaces_the_top_left_pixel() -> None:
    src = Image.new("RGB", (50, 50), (255, 255, 255))
    src.paste((0, 0, 255), (0, 0, 20, 10))
    src.paste((255, 0, 0), (30, 30, 35, 35))
    assert trim(src).size == (50, 50)  # the top-left is blue: the white is content
    out = trim(src, color="white")
    assert out.size == (35, 35)
    assert out.getpixel((0, 0)) == (0, 0, 255) and out.getpixel((34, 34)) == (255, 0, 0)


def test_transparent_borders_are_trimmed_whatever_colour_they_hide() -> None:
    src = Image.new("RGBA", (60, 40), (255, 0, 0, 0))
    src.paste((0, 255, 0, 0), (30, 0, 60, 40))  # transparent too, another hidden colour
    src.paste((0, 0, 255, 255), (10, 5, 25, 30))
    src.paste((0, 0, 255, 128), (25, 5, 40, 30))
    out = trim(src)
    assert out.mode == "RGBA"
    assert out.size == (30, 25)
    assert out.getpixel((0, 0)) == (0, 0, 255, 255)
    assert out.getpixel((29, 24)) == (0, 0, 255, 128)


def test_an_opaque_border_colour_on_an_image_with_alpha_counts_alpha_as_a_channel() -> None:
    src = Image.new("RGBA", (40, 40), (255, 255, 255, 255))
    src.paste((255, 255, 255, 0), (10, 10, 20, 30))  # a transparent hole is content on an opaque border
    out = trim(src)
    assert out.size == (10, 20)
    assert out.getpixel((5, 5)) == (255, 255, 255, 0)


def test_grayscale_images_are_trimmed_and_stay_grayscale() -> None:
    src = Image.new("L", (40, 30), 0)
    src.paste(200, (5, 6, 15, 16))
    out = trim(src, color="black")
    assert out.mode == "L" and out.size == (10, 10)
    assert trim(Image.new("LA", (8, 8), (9, 255)), color=[9, 9, 9]).size == (8, 8)


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"threshold": 256}, "params.threshold", "less than or equal to 255"),
        ({"threshold": -1}, "params.threshold", "greater than or equal to 0"),
        ({"color": "not-a-colour"}, "params.color", "is not a colour"),
        ({"color": [300, 0, 0]}, "params.color", "0-255"),
        ({"colour": "red"}, "params.colour", "not permitted"),
    ],
)
def test_bad_params_are_refused_before_running(params: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "trim", "params": params}])
    assert err.value.errors[0]["field"] == field
    assert fragment in err.value.errors[0]["message"]


def test_every_frame_of_an_animation_is_cut_to_one_box_holding_all_their_content() -> None:
    frames = []
    for x, y in ((5, 5), (30, 12), (12, 25)):
        frame = Image.new("RGBA", (50, 40), (255, 255, 255, 255))
        frame.paste((255, 0, 0, 255), (x, y, x + 6, y + 4))
        frames.append(frame)
    src = ImageValue(frames[0], "PNG", frames=frames, durations=[100, 100, 100])
    op = get_operation("trim")
    assert op is not None
    out = op.run([src], parse_pipeline([{"op": "trim"}]).nodes[0].params, RunContext())
    assert isinstance(out, ImageValue) and out.frames is not None
    assert [f.size for f in out.frames] == [(31, 24)] * 3  # x 5..36, y 5..29
    assert out.image is out.frames[0] and out.durations == [100, 100, 100]
    assert out.frames[1].getpixel((25, 7)) == (255, 0, 0, 255)
