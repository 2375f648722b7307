"""watermark: an overlay image or text, placed by gravity and margin, blended at its own alpha x opacity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.pipeline import parse_pipeline
from tests.imaging.filter_helpers import pixels, refusals, run_node

LOGO = ["source", "asset:logo"]


def changed_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels that differ, right and bottom exclusive."""
    diff = (pixels(before) != pixels(after)).any(axis=2)
    ys, xs = np.nonzero(diff)
    assert len(xs), "nothing changed"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def white(size: tuple[int, int]) -> Image.Image:
    return Image.new("RGB", size, (255, 255, 255))


def test_an_overlay_at_southeast_changes_only_its_corner_and_blends_at_the_opacity() -> None:
    base = Image.new("RGB", (200, 100), (0, 0, 0))
    out = run_node(
        "watermark", {"position": "southeast", "margin": 10}, base, LOGO, {"logo": white((40, 20))}
    )  # default scale 0.25: 50 x 25, default opacity 0.5
    assert out.size == base.size and out.mode == "RGB"
    assert changed_box(base, out) == (200 - 10 - 50, 100 - 10 - 25, 190, 90)
    assert abs(int(pixels(out)[77, 165, 0]) - 128) <= 1


@pytest.mark.parametrize(
    ("position", "box"),
    [
        ("northwest", (5, 5, 25, 15)),
        ("north", (40, 5, 60, 15)),
        ("east", (75, 20, 95, 30)),
        ("centre", (40, 20, 60, 30)),
        ("southwest", (5, 35, 25, 45)),
    ],
)
def test_position_and_margin_place_the_overlay(position: str, box: tuple[int, int, int, int]) -> None:
    base = Image.new("RGB", (100, 50), (0, 0, 0))
    params = {"position": position, "margin": 5, "scale": 0.2, "opacity": 1}
    out = run_node("watermark", params, base, LOGO, {"logo": white((10, 5))})
    assert changed_box(base, out) == box


def test_the_overlay_alpha_is_multiplied_by_the_opacity() -> None:
    logo = Image.new("RGBA", (40, 20), (255, 255, 255, 0))  # left half transparent
    logo.paste((255, 255, 255, 128), (20, 0, 40, 20))  # right half half-transparent
    base = Image.new("RGB", (160, 80), (0, 0, 0))
    out = pixels(run_node("watermark", {"margin": 0, "opacity": 0.5}, base, LOGO, {"logo": logo}))
    # the logo is 40 x 20 at scale 0.25 of 160: it covers x 120-160, y 60-80
    assert (out[:, :140] == 0).all() and (out[:60] == 0).all()
    assert abs(int(out[70, 150, 0]) - 64) <= 1  # 255 x 128/255 x 0.5


def test_an_rgba_base_stays_rgba_and_keeps_its_alpha_outside_the_overlay() -> None:
    base = Image.new("RGBA", (100, 100), (0, 0, 255, 100))
    out = run_node(
        "watermark", {"opacity": 1, "scale": 0.5, "position": "centre"}, base, LOGO, {"logo": white((10, 10))}
    )
    assert out.mode == "RGBA" and out.size == (100, 100)
    a = pixels(out)
    assert tuple(a[5, 5]) == (0, 0, 255, 100)
    assert tuple(a[50, 50]) == (255, 255, 255, 255)


def test_a_grey_base_stays_grey() -> None:
    base = Image.new("L", (80, 40), 0)
    out = run_node("watermark", {"opacity": 1}, base, LOGO, {"logo": Image.new("RGB", (20, 10), (255, 0, 0))})
    assert out.mode == "L"
    assert pixels(out)[-20, -20, 0] == 76  # red as luma


def test_a_tall_overlay_is_shrunk_to_fit_the_base() -> None:
    base = Image.new("RGB", (100, 40), (0, 0, 0))
    out = run_node("watermark", {"scale": 1, "margin": 0, "opacity": 1}, base, LOGO, {"logo": white((50, 100))})
    assert changed_box(base, out) == (80, 0, 100, 40)


def test_tile_repeats_the_overlay_margin_apart() -> None:
    base = Image.new("RGB", (100, 60), (0, 0, 0))
    params = {"tile": True, "scale": 0.1, "margin": 10, "opacity": 1, "position": "northwest"}
    out = pixels(run_node("watermark", params, base, LOGO, {"logo": white((10, 10))}))[:, :, 0]
    marked = out > 0
    # 10 x 10 tiles every 20 px from (10, 10), partial ones cut at the edges
    expected = np.zeros_like(marked)
    for y in range(-10, 60, 20):
        for x in range(-10, 100, 20):
            expected[max(0, y) : max(0, y + 10), max(0, x) : max(0, x + 10)] = True
    assert (marked == expected).all()


def test_text_is_drawn_in_its_colour_within_its_corner() -> None:
    base = Image.new("RGB", (300, 120), (0, 0, 0))
    params = {"text": "pixmill", "position": "northwest", "margin": 8, "opacity": 1, "color": "#ff0000"}
    out = run_node("watermark", params, base)
    left, top, right, bottom = changed_box(base, out)
    assert left >= 8 and top >= 8
    assert right <= 150 and 16 <= bottom - top <= 32  # default font size 32 px
    a = pixels(out)
    assert a[:, :, 0].max() == 255 and a[:, :, 1].max() == 0 and a[:, :, 2].max() == 0


def test_text_opacity_shows_in_the_blend() -> None:
    base = Image.new("RGB", (300, 120), (0, 0, 0))
    out = run_node("watermark", {"text": "MMMM", "opacity": 0.25, "font_size": 40}, base)
    assert abs(int(pixels(out).max()) - 64) <= 1


def test_font_size_sets_the_text_height() -> None:
    base = Image.new("RGB", (400, 200), (0, 0, 0))
    heights = []
    for size in (20, 60):
        box = changed_box(base, run_node("watermark", {"text": "Hello", "font_size": size}, base))
        heights.append(box[3] - box[1])
    assert heights[1] > 2.5 * heights[0]


@pytest.mark.parametrize("position", ["southeast", "northwest", "centre"])
def test_text_too_large_for_the_image_is_made_to_fit_inside_the_margins(position: str) -> None:
    base = Image.new("RGB", (120, 60), (0, 0, 0))
    params = {"text": "a long watermark", "font_size": 400, "margin": 10, "position": position, "opacity": 1}
    left, top, right, bottom = changed_box(base, run_node("watermark", params, base))
    assert left >= 10 and top >= 10 and right <= 110 and bottom <= 50
    assert right - left >= 90  # shrunk only as much as needed


def test_text_rendering_is_deterministic() -> None:
    base = Image.new("RGB", (200, 80), (20, 40, 60))
    params = {"text": "© pixmill 2024", "font_size": 18}
    assert (pixels(run_node("watermark", params, base)) == pixels(run_node("watermark", params, base))).all()


def test_the_canonical_form_parses_again() -> None:
    for node in (
        {"id": "n", "op": "watermark", "params": {"text": "hi"}, "output": "o"},
        {"id": "n", "op": "watermark", "params": {}, "inputs": LOGO, "output": "o"},
    ):
        spec = parse_pipeline({"nodes": [node]}).to_json()
        assert parse_pipeline(spec).to_json() == spec


@pytest.mark.parametrize(
    ("params", "inputs", "message"),
    [
        ({"text": "hi"}, LOGO, "give text or a second input (the overlay image), not both"),
        ({}, ["source"], "give text or a second input (the overlay image), not neither"),
        ({}, None, "give text or a second input (the overlay image), not neither"),
    ],
)
def test_text_and_overlay_input_are_exclusive(params: dict[str, Any], inputs: list[str] | None, message: str) -> None:
    assert refusals("watermark", params, inputs) == [("inputs", message)]


def test_three_inputs_are_refused() -> None:
    assert refusals("watermark", {}, ["source", "asset:a", "asset:b"]) == [("inputs", "watermark takes 1 to 2 inputs")]


@pytest.mark.parametrize(
    ("params", "inputs", "field", "words"),
    [
        ({"opacity": 1.5}, LOGO, "params.opacity", "less than or equal"),
        ({"scale": 0}, LOGO, "params.scale", "greater than or equal"),
        ({"margin": -1}, LOGO, "params.margin", "greater than or equal"),
        ({"position": "up"}, LOGO, "params.position", "'centre'"),
        ({"text": ""}, None, "params.text", "at least 1"),
        ({"text": "   "}, None, "params.text", "blank"),
        ({"text": "hi", "color": "nope"}, None, "params.color", "not a colour"),
        ({"text": "hi", "font_size": 3}, None, "params.font_size", "greater than or equal"),
        ({"text": "hi", "scale": 0.5}, None, "params", "scale applies to overlay images only"),
        ({"font_size": 20}, LOGO, "params", "font_size applies to text only"),
        ({"color": "red"}, LOGO, "params", "color applies to text only"),
    ],
)
def test_bad_parameters_are_refused_with_node_and_field(
    params: dict[str, Any], inputs: list[str] | None, field: str, words: str
) -> None:
    (problem,) = refusals("watermark", params, inputs)
    assert problem[0] == field and words in problem[1], problem
