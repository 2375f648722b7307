from __future__ import annotations

from typing import Any

import pytest
from PIL import Image, ImageCms

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import DataValue
from tests import images

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


def _metadata(data: bytes, params: dict | None = None) -> dict[str, Any]:
    p = parse_pipeline([{"op": "metadata", "params": params or {}}])
    (out,) = run_pipeline(p, data, RunContext()).outputs
    assert isinstance(out.value, DataValue)
    return out.value.data


def _decode83(text: str) -> int:
    value = 0
    for char in text:
        value = value * 83 + BASE83.index(char)
    return value


def _dc_colour(blurhash: str) -> tuple[int, int, int]:
    """The average colour a BlurHash's DC component (characters 2-5) stands for, in sRGB."""
    value = _decode83(blurhash[2:6])
    return value >> 16, (value >> 8) & 255, value & 255


def test_existing_keys_are_unchanged() -> None:
    meta = _metadata(images.jpeg_with_exif(make="Acme"))
    assert meta["format"] == "JPEG"
    assert (meta["width"], meta["height"], meta["mode"]) == (400, 300, "RGB")
    assert meta["has_alpha"] is False and meta["has_icc_profile"] is False
    assert meta["exif"]["Make"] == "Acme"


def test_icc_description_is_the_profiles_or_null() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    meta = _metadata(images.encode(images.quadrants(), "JPEG", icc_profile=icc))
    assert meta["has_icc_profile"] is True
    assert meta["icc_description"] == "sRGB built-in"
    assert _metadata(images.png())["icc_description"] is None


def test_dominant_colours_of_four_quadrants() -> None:
    meta = _metadata(images.png(400, 300))
    assert meta["dominant_colors"] == [
        {"color": c, "share": 0.25} for c in ("#0000ff", "#00ff00", "#ff0000", "#ffffff")
    ]  # equal shares: ties in colour order
    two = _metadata(images.png(400, 300), {"colors": 2})["dominant_colors"]
    assert len(two) == 2 and all(c["share"] == 0.25 for c in two)


def test_dominant_colours_are_sorted_by_share_and_skip_transparent_pixels() -> None:
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))  # small enough to be sampled as it is
    im.paste((200, 30, 30, 255), (0, 0, 40, 32))  # 1280 px
    im.paste((20, 40, 220, 255), (0, 32, 64, 64))  # 2048 px; the remaining 768 are transparent
    colours = _metadata(images.encode(im, "PNG"))["dominant_colors"]
    assert [c["color"] for c in colours] == ["#1428dc", "#c81e1e"]
    assert [c["share"] for c in colours] == [round(2048 / 3328, 4), round(1280 / 3328, 4)]
    assert _metadata(images.encode(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG"))["dominant_colors"] == []


def test_dominant_colours_are_deterministic_and_at_most_colors() -> None:
    data = images.encode(images.noise(300, 200, seed=3), "PNG")
    first = _metadata(data, {"colors": 7})["dominant_colors"]
    assert first == _metadata(data, {"colors": 7})["dominant_colors"]
    assert len(first) == 7
    shares = [c["share"] for c in first]
    assert shares == sorted(shares, reverse=True)
    assert all(len(c["color"]) == 7 and c["color"].startswith("#") for c in first)


@pytest.mark.parametrize(("x", "y"), [(4, 3), (1, 1), (9, 9), (2, 7)])
def test_blurhash_length_size_flag_and_alphabet(x: int, y: int) -> None:
    blurhash = _metadata(images.jpeg(), {"blurhash_x": x, "blurhash_y": y})["blurhash"]
    assert len(blurhash) == 4 + 2 * x * y
    assert set(blurhash) <= set(BASE83)
    assert _decode83(blurhash[0]) == (x - 1) + (y - 1) * 9


@pytest.mark.parametrize("colour", [(12, 200, 99), (255, 255, 255), (0, 0, 0), (128, 64, 32)])
def test_blurhash_of_a_solid_image_has_that_colour_as_dc(colour: tuple[int, int, int]) -> None:
    blurhash = _metadata(images.encode(Image.new("RGB", (120, 80), colour), "PNG"))["blurhash"]
    assert len(blurhash) == 28
    assert all(abs(a - b) <= 1 for a, b in zip(_dc_colour(blurhash), colour, strict=True)), blurhash


def test_blurhash_dc_is_the_average_in_linear_light() -> None:
    im = Image.new("RGB", (64, 64), (0, 0, 0))
    im.paste((255, 255, 255), (0, 0, 32, 64))  # half black, half white: linear mean 0.5 -> sRGB 188
    r, g, b = _dc_colour(_metadata(images.encode(im, "PNG"))["blurhash"])
    assert r == g == b and abs(r - 188) <= 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"colors": 0}, "params.colors"),
        ({"colors": 17}, "params.colors"),
        ({"blurhash_x": 10}, "params.blurhash_x"),
        ({"blurhash_y": 0}, "params.blurhash_y"),
        ({"palette": 3}, "params.palette"),
    ],
)
def test_invalid_params_are_refused(params: dict, field: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "metadata", "params": params}])
    assert err.value.errors[0]["field"] == field
