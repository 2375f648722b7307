"""resize fit='fill' with a compass gravity: which part of the image is kept (faces / objects: tests/ml)."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def resize(im: Image.Image, **params: Any) -> Image.Image:
    p = parse_pipeline([{"op": "resize", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def test_fill_without_gravity_is_the_centre_and_the_canonical_form_has_no_gravity() -> None:
    src = images.quadrants(400, 200)
    default = resize(src, width=100, height=100, fit="fill")
    assert resize(src, width=100, height=100, fit="fill", gravity="centre").tobytes() == default.tobytes()
    spec = parse_pipeline([{"op": "resize", "params": {"width": 100, "height": 100, "fit": "fill"}}]).to_json()
    assert spec["nodes"][0]["params"] == {"width": 100, "height": 100, "fit": "fill", "upscale": False}


@pytest.mark.parametrize(
    ("gravity", "top_left", "bottom_right"),
    [
        ("west", (255, 0, 0), (0, 0, 255)),  # the left half: red over blue
        ("east", (0, 255, 0), (255, 255, 255)),  # the right half: green over white
        ("northwest", (255, 0, 0), (0, 0, 255)),
        ("south", (255, 0, 0), (255, 255, 255)),  # a wide image: vertical gravity has no room, so centred
    ],
)
def test_fill_keeps_the_side_gravity_names(gravity: str, top_left: tuple, bottom_right: tuple) -> None:
    out = resize(images.quadrants(400, 200), width=100, height=100, fit="fill", gravity=gravity)
    assert out.size == (100, 100)
    assert images.near(out.getpixel((5, 5)), top_left)
    assert images.near(out.getpixel((94, 94)), bottom_right)


def test_fill_gravity_on_a_tall_image_moves_the_window_down() -> None:
    src = images.quadrants(200, 400)
    north = resize(src, width=100, height=100, fit="fill", gravity="north")
    south = resize(src, width=100, height=100, fit="fill", gravity="south")
    assert images.near(north.getpixel((5, 95)), (255, 0, 0))  # the top half only: red
    assert images.near(south.getpixel((5, 5)), (0, 0, 255))  # the bottom half only: blue


@pytest.mark.parametrize("fit", ["fit", "exact"])
def test_gravity_is_refused_without_fill(fit: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "resize", "params": {"width": 10, "height": 10, "fit": fit, "gravity": "west"}}])
    assert "only with fit='fill'" in err.value.errors[0]["message"]


def test_an_unknown_gravity_is_refused() -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "resize", "params": {"width": 10, "height": 10, "fit": "fill", "gravity": "up"}}])
    assert err.value.errors[0]["field"] == "params.gravity"
