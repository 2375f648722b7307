from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images

WHITE = (255, 255, 255)


def pad(im: Image.Image, ctx: RunContext | None = None, **params: Any) -> Image.Image:
    """Run pad on `im` (sent as PNG, so pixels are exact) and decode the PNG result."""
    p = parse_pipeline([{"op": "pad", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), ctx or RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def corners(im: Image.Image) -> list[object]:
    w, h = im.size
    return [im.getpixel(xy) for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]


def test_a_size_puts_the_image_in_the_centre_on_white() -> None:
    src = images.quadrants(40, 30)
    out = pad(src, width=100, height=50)
    assert out.size == (100, 50) and out.mode == "RGB"
    assert corners(out) == [WHITE] * 4
    assert out.crop((30, 10, 70, 40)).tobytes() == src.tobytes()
    assert out.getpixel((29, 25)) == WHITE and out.getpixel((30, 25)) == (0, 0, 255)


@pytest.mark.parametrize(
    ("gravity", "at"),
    [
        ("northwest", (0, 0)),
        ("north", (30, 0)),
        ("northeast", (60, 0)),
        ("east", (60, 10)),
        ("southeast", (60, 20)),
        ("south", (30, 20)),
        ("southwest", (0, 20)),
        ("west", (0, 10)),
        ("centre", (30, 10)),
    ],
)
def test_gravity_places_the_image(gravity: str, at: tuple[int, int]) -> None:
    src = images.quadrants(40, 30)
    out = pad(src, width=100, height=50, gravity=gravity, background="#102030")
    assert out.crop((at[0], at[1], at[0] + 40, at[1] + 30)).tobytes() == src.tobytes()
    rest = Image.new("RGB", (100, 50), (16, 32, 48))
    rest.paste(src, at)
    assert out.tobytes() == rest.tobytes()


def test_one_side_alone_keeps_the_other() -> None:
    src = images.quadrants(40, 30)
    assert pad(src, width=60).size == (60, 30)
    out = pad(src, height=31, gravity="north")
    assert out.size == (40, 31)
    assert out.getpixel((0, 30)) == WHITE and out.getpixel((0, 29)) == (0, 0, 255)


@pytest.mark.parametrize(
    ("size", "aspect", "canvas", "at"),
    [
        ((40, 30), "1:1", (40, 40), (0, 5)),
        ((40, 30), "16:9", (53, 30), (6, 0)),  # 53.3 rounded
        ((30, 40), "1:1", (40, 40), (5, 0)),
        ((40, 30), "4:3", (40, 30), (0, 0)),
        ((40, 30), "1:2", (40, 80), (0, 25)),
    ],
)
def test_an_aspect_gives_the_smallest_canvas_of_that_shape(
    size: tuple[int, int], aspect: str, canvas: tuple[int, int], at: tuple[int, int]
) -> None:
    src = images.quadrants(*size)
    out = pad(src, aspect=aspect)
    assert out.size == canvas
    assert out.crop((at[0], at[1], at[0] + size[0], at[1] + size[1])).tobytes() == src.tobytes()


def test_a_margin_pads_every_side_in_the_given_colour() -> None:
    src = images.quadrants(40, 30)
    out = pad(src, margin=5, background="#ff8800")
    assert out.size == (50, 40)
    assert corners(out) == [(255, 136, 0)] * 4
    assert out.getpixel((25, 4)) == (255, 136, 0) and out.getpixel((25, 35)) == (255, 136, 0)
    assert out.crop((5, 5, 45, 35)).tobytes() == src.tobytes()


def test_a_translucent_background_gives_alpha_and_the_image_stays_opaque() -> None:
    src = images.quadrants(40, 30)
    out = pad(src, margin=2, background=[0, 0, 0, 0])
    assert out.mode == "RGBA"
    assert corners(out) == [(0, 0, 0, 0)] * 4
    assert out.getpixel((2, 2)) == (255, 0, 0, 255)
    assert pad(src, margin=2, background="#00ff0080").getpixel((0, 0)) == (0, 255, 0, 128)


def test_alpha_in_the_image_is_kept() -> None:
    src = Image.new("RGBA", (10, 10), (255, 0, 0, 60))
    out = pad(src, width=20, height=10, gravity="west")
    assert out.mode == "RGBA"
    assert out.getpixel((5, 5)) == (255, 0, 0, 60)
    assert out.getpixel((15, 5)) == (255, 255, 255, 255)


def test_grayscale_stays_grayscale_on_a_grey_and_turns_colour_on_a_colour() -> None:
    src = Image.new("L", (10, 10), 40)
    grey = pad(src, margin=1, background="#808080")
    assert grey.mode == "L" and grey.getpixel((0, 0)) == 128 and grey.getpixel((1, 1)) == 40
    red = pad(src, margin=1, background="red")
    assert red.mode == "RGB" and red.getpixel((0, 0)) == (255, 0, 0) and red.getpixel((1, 1)) == (40, 40, 40)
    clear = pad(src, margin=1, background="#80808000")
    assert clear.mode == "LA" and clear.getpixel((0, 0)) == (128, 0) and clear.getpixel((1, 1)) == (40, 255)


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"width": 39, "height": 50}, ["params.width"]),
        ({"height": 29}, ["params.height"]),
        ({"width": 10, "height": 10}, ["params.width", "params.height"]),
    ],
)
def test_a_canvas_smaller_than_the_image_is_refused_with_both_sizes(params: dict, fields: list[str]) -> None:
    p = parse_pipeline([{"op": "pad", "params": params}])
    with pytest.raises(InvalidPipeline, match="40x30") as err:
        run_pipeline(p, images.png(40, 30), RunContext())
    assert [e["field"] for e in err.value.errors] == fields
    assert "smaller than the image" in err.value.errors[0]["message"]


def test_a_canvas_over_the_limits_is_refused() -> None:
    ctx = RunContext(limits=Limits(max_dimension=100))
    assert pad(images.quadrants(40, 30), ctx, margin=30).size == (100, 90)
    p = parse_pipeline([{"op": "pad", "params": {"margin": 31}}])
    with pytest.raises(InvalidPipeline, match="102x92") as err:
        run_pipeline(p, images.png(40, 30), ctx)
    assert err.value.errors[0]["field"] == "params.margin"


def test_the_canonical_form_round_trips() -> None:
    spec = parse_pipeline([{"op": "pad", "params": {"aspect": "1:1", "background": "navy"}}]).to_json()
    assert spec["nodes"][0]["params"] == {"aspect": "1:1", "gravity": "centre", "background": [0, 0, 128, 255]}
    assert parse_pipeline(spec).to_json() == spec


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({}, "params", "give width and/or height"),
        ({"width": 10, "aspect": "1:1"}, "params", "not width/height and aspect"),
        ({"aspect": "1:1", "margin": 3}, "params", "not aspect and margin"),
        ({"margin": 3, "gravity": "north"}, "params", "gravity does not apply"),
        ({"margin": 0}, "params.margin", "greater than or equal to 1"),
        ({"width": 0}, "params.width", "greater than or equal to 1"),
        ({"aspect": "wide"}, "params.aspect", "not an aspect"),
        ({"margin": 3, "background": "blurple"}, "params.background", "is not a colour"),
        ({"margin": 3, "gravity": "smart"}, "params.gravity", "Input should be"),
        ({"margin": 3, "color": "red"}, "params.color", "not permitted"),
    ],
)
def test_bad_params_are_refused_before_running(params: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "pad", "params": params}])
    assert err.value.errors[0]["field"] == field
    assert fragment in err.value.errors[0]["message"]
