from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext, get_operation
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue, ImageValue
from tests import images


def crop(im: Image.Image, **params: Any) -> Image.Image:
    """Run crop on `im` (sent as PNG, so pixels are exact) and decode the PNG result."""
    p = parse_pipeline([{"op": "crop", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


def gradient(width: int = 400, height: int = 300) -> Image.Image:
    """Every pixel different: red follows x, green follows y, so any crop offset shows in the bytes."""
    xs = np.arange(width, dtype=np.uint32)[None, :].repeat(height, 0)
    ys = np.arange(height, dtype=np.uint32)[:, None].repeat(width, 1)
    rgb = np.stack([xs % 256, ys % 256, (xs // 256 + 16 * (ys // 256)) % 256], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def half_detailed(width: int, height: int, detailed: str) -> Image.Image:
    """Flat grey everywhere except noise on one half ('left', 'right', 'top' or 'bottom')."""
    im = Image.new("RGB", (width, height), (128, 128, 128))
    box = {
        "left": (0, 0, width // 2, height),
        "right": (width // 2, 0, width, height),
        "top": (0, 0, width, height // 2),
        "bottom": (0, height // 2, width, height),
    }[detailed]
    im.paste(images.noise(box[2] - box[0], box[3] - box[1], seed=7), box[:2])
    return im


def refused(**params: Any) -> list[dict[str, Any]]:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "crop", "params": params}])
    return err.value.errors


def test_a_rectangle_keeps_exactly_those_pixels() -> None:
    src = images.quadrants(400, 300)
    out = crop(src, x=150, y=100, width=100, height=100)
    assert out.size == (100, 100)
    assert out.tobytes() == src.crop((150, 100, 250, 200)).tobytes()
    assert out.getpixel((10, 10)) == (255, 0, 0)
    assert out.getpixel((90, 10)) == (0, 255, 0)
    assert out.getpixel((10, 90)) == (0, 0, 255)
    assert out.getpixel((90, 90)) == (255, 255, 255)


def test_a_rectangle_may_be_the_whole_image() -> None:
    src = gradient(40, 30)
    assert crop(src, x=0, y=0, width=40, height=30).tobytes() == src.tobytes()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"x": 350, "y": 0, "width": 100, "height": 10}, "params.width"),
        ({"x": 0, "y": 250, "width": 10, "height": 51}, "params.height"),
        ({"x": 400, "y": 0, "width": 1, "height": 1}, "params.x"),
        ({"x": 0, "y": 300, "width": 1, "height": 1}, "params.y"),
    ],
)
def test_a_rectangle_outside_the_image_is_refused_with_the_image_size(params: dict, field: str) -> None:
    p = parse_pipeline([{"op": "crop", "params": params}])
    with pytest.raises(InvalidPipeline, match="400x300") as err:
        run_pipeline(p, images.png(400, 300), RunContext())
    assert [e["field"] for e in err.value.errors] == [field]
    assert "400x300" in err.value.errors[0]["message"]


def test_a_rectangle_past_both_edges_names_both_fields() -> None:
    p = parse_pipeline([{"op": "crop", "params": {"x": 300, "y": 200, "width": 200, "height": 200}}])
    with pytest.raises(InvalidPipeline) as err:
        run_pipeline(p, images.png(400, 300), RunContext())
    assert [e["field"] for e in err.value.errors] == ["params.width", "params.height"]


@pytest.mark.parametrize(
    ("gravity", "box"),
    [
        ("centre", (50, 0, 350, 300)),
        ("west", (0, 0, 300, 300)),
        ("northwest", (0, 0, 300, 300)),
        ("east", (100, 0, 400, 300)),
        ("southeast", (100, 0, 400, 300)),
        ("north", (50, 0, 350, 300)),
    ],
)
def test_an_aspect_keeps_the_largest_region_placed_by_gravity(gravity: str, box: tuple[int, int, int, int]) -> None:
    src = gradient(400, 300)
    out = crop(src, aspect="1:1", gravity=gravity)
    assert out.size == (300, 300)
    assert out.tobytes() == src.crop(box).tobytes()


@pytest.mark.parametrize(
    ("aspect", "size"),
    [("16:9", (400, 225)), ("1:2", (150, 300)), ("4:3", (400, 300)), ("1.91:1", (400, 209)), ("3:1", (400, 133))],
)
def test_aspect_sizes(aspect: str, size: tuple[int, int]) -> None:
    assert crop(gradient(400, 300), aspect=aspect).size == size


def test_an_aspect_on_a_tall_image_cuts_the_height_and_south_keeps_the_bottom() -> None:
    src = gradient(200, 400)
    out = crop(src, aspect="16:9", gravity="south")
    assert out.size == (200, 112)
    assert out.tobytes() == src.crop((0, 288, 200, 400)).tobytes()


@pytest.mark.parametrize(
    ("gravity", "box"),
    [
        ("centre", (150, 125, 250, 175)),
        ("northwest", (0, 0, 100, 50)),
        ("southeast", (300, 250, 400, 300)),
        ("south", (150, 250, 250, 300)),
    ],
)
def test_a_size_that_fits_is_cut_exactly(gravity: str, box: tuple[int, int, int, int]) -> None:
    src = gradient(400, 300)
    out = crop(src, width=100, height=50, gravity=gravity)
    assert out.size == (100, 50)
    assert out.tobytes() == src.crop(box).tobytes()


def test_a_size_larger_than_the_image_keeps_the_largest_region_of_its_shape() -> None:
    src = gradient(400, 300)
    assert crop(src, width=800, height=800).tobytes() == src.crop((50, 0, 350, 300)).tobytes()
    out = crop(src, width=1000, height=100, gravity="north")  # 10:1, wider than the image
    assert out.size == (400, 40)
    assert out.tobytes() == src.crop((0, 0, 400, 40)).tobytes()


@pytest.mark.parametrize(
    ("focal_x", "focal_y", "box"),
    [
        (0.5, 0.5, (50, 0, 350, 300)),
        (0.45, 0.1, (30, 0, 330, 300)),  # centred on x=180
        (0.9, 0.5, (100, 0, 400, 300)),  # clamped to the right edge
        (0.0, 1.0, (0, 0, 300, 300)),  # clamped to the left edge
    ],
)
def test_focal_centres_the_window_on_the_point_clamped_inside(
    focal_x: float, focal_y: float, box: tuple[int, int, int, int]
) -> None:
    src = gradient(400, 300)
    out = crop(src, aspect="1:1", gravity="focal", focal_x=focal_x, focal_y=focal_y)
    assert out.tobytes() == src.crop(box).tobytes()


def test_focal_moves_both_ways_for_a_size_crop() -> None:
    src = gradient(400, 300)
    out = crop(src, width=100, height=100, gravity="focal", focal_x=0.25, focal_y=0.75)
    assert out.tobytes() == src.crop((50, 175, 150, 275)).tobytes()


@pytest.mark.parametrize(
    ("detailed", "size", "aspect", "box"),
    [
        ("right", (400, 200), "1:1", (200, 0, 400, 200)),
        ("left", (400, 200), "1:1", (0, 0, 200, 200)),
        ("bottom", (200, 400), "1:1", (0, 200, 200, 400)),
        ("top", (300, 600), "1:1", (0, 0, 300, 300)),
    ],
)
def test_smart_crop_keeps_the_detailed_side(
    detailed: str, size: tuple[int, int], aspect: str, box: tuple[int, int, int, int]
) -> None:
    src = half_detailed(*size, detailed)
    out = crop(src, aspect=aspect, gravity="smart")
    assert out.tobytes() == src.crop(box).tobytes()


def test_smart_crop_of_a_detailed_patch_finds_it_in_two_dimensions() -> None:
    src = Image.new("RGB", (600, 400), (30, 60, 90))
    src.paste(images.noise(100, 80, seed=3), (420, 40))
    out = crop(src, width=150, height=120, gravity="smart")
    assert out.size == (150, 120)
    arr = np.asarray(out)
    flat = (arr == (30, 60, 90)).all(axis=-1)
    assert (~flat).sum() >= 100 * 80 * 0.95  # the whole patch is inside the window


def test_smart_crop_of_a_flat_image_takes_the_centre() -> None:
    flat = Image.new("RGB", (400, 300), (10, 20, 30))
    assert crop(flat, aspect="1:1", gravity="smart").tobytes() == flat.crop((50, 0, 350, 300)).tobytes()
    assert crop(flat, width=100, height=100, gravity="smart").tobytes() == flat.crop((150, 100, 250, 200)).tobytes()


def test_smart_crop_prefers_the_centre_among_equally_detailed_windows() -> None:
    src = Image.new("RGB", (600, 200), (128, 128, 128))
    src.paste(images.noise(20, 20, seed=5), (290, 90))  # every 1:1 window over x 90..290 holds it whole
    out = crop(src, aspect="1:1", gravity="smart")
    assert out.tobytes() == src.crop((200, 0, 400, 200)).tobytes()


def test_smart_crop_among_equal_windows_off_centre_takes_the_one_nearest_the_centre() -> None:
    src = Image.new("RGB", (600, 200), (128, 128, 128))
    src.paste(images.noise(20, 20, seed=5), (40, 90))  # the windows holding it start at x 0..40
    arr = np.asarray(crop(src, aspect="1:1", gravity="smart"))
    columns = np.nonzero((arr != 128).any(axis=(0, 2)))[0]
    assert len(columns) == 20  # the whole patch is kept ...
    assert columns[0] <= 3  # ... at the window's left edge, as near the centre as it can be


def test_smart_crop_is_deterministic() -> None:
    src = images.noise(300, 200, seed=11)
    first = crop(src, aspect="1:1", gravity="smart").tobytes()
    assert all(crop(src, aspect="1:1", gravity="smart").tobytes() == first for _ in range(3))


def test_alpha_is_kept() -> None:
    src = Image.new("RGBA", (40, 30), (255, 0, 0, 0))
    src.paste((0, 0, 255, 200), (20, 0, 40, 30))
    out = crop(src, x=10, y=5, width=20, height=10)
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0)) == (255, 0, 0, 0)
    assert out.getpixel((15, 5)) == (0, 0, 255, 200)
    assert crop(src, aspect="1:1", gravity="smart").mode == "RGBA"


def test_grayscale_stays_grayscale() -> None:
    src = gradient(40, 30).convert("L")
    out = crop(src, aspect="2:1", gravity="smart")
    assert out.mode == "L" and out.size == (40, 20)


def test_the_canonical_form_round_trips() -> None:
    spec = parse_pipeline([{"op": "crop", "params": {"aspect": " 16 : 9 ", "gravity": "smart"}}]).to_json()
    assert spec["nodes"][0]["params"] == {"aspect": "16:9", "gravity": "smart"}
    assert parse_pipeline(spec).to_json() == spec
    spec = parse_pipeline([{"op": "crop", "params": {"x": 1, "y": 2, "width": 3, "height": 4}}]).to_json()
    assert parse_pipeline(spec).to_json() == spec


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({}, "params", "give a rectangle"),
        ({"x": 1, "y": 1, "width": 5}, "params", "height missing"),
        ({"x": 1, "width": 5, "height": 5}, "params", "y missing"),
        ({"x": 0, "y": 0, "width": 5, "height": 5, "aspect": "1:1"}, "params", "aspect cannot be combined"),
        ({"x": 0, "y": 0, "width": 5, "height": 5, "gravity": "north"}, "params", "gravity does not apply"),
        ({"aspect": "1:1", "width": 5}, "params", "not both"),
        ({"width": 5}, "params", "needs both width and height"),
        ({"aspect": "1:1", "gravity": "focal"}, "params", "needs both focal_x and focal_y"),
        ({"aspect": "1:1", "gravity": "focal", "focal_x": 0.5}, "params", "needs both focal_x and focal_y"),
        ({"aspect": "1:1", "focal_x": 0.5, "focal_y": 0.5}, "params", "only with gravity 'focal'"),
        ({"aspect": "1:1", "gravity": "focal", "focal_x": 1.5, "focal_y": 0.5}, "params.focal_x", "less than"),
        ({"aspect": "16/9"}, "params.aspect", "not an aspect"),
        ({"aspect": "0:1"}, "params.aspect", "zero side"),
        ({"aspect": "5000:1"}, "params.aspect", "too extreme"),
        ({"aspect": "1:1", "gravity": "middle"}, "params.gravity", "smart"),
        ({"x": -1, "y": 0, "width": 1, "height": 1}, "params.x", "greater than or equal"),
        ({"width": 0, "height": 5}, "params.width", "greater than or equal"),
        ({"aspect": "1:1", "left": 3}, "params.left", "not permitted"),
    ],
)
def test_bad_params_are_refused_before_running(params: dict, field: str, fragment: str) -> None:
    errors = refused(**params)
    assert errors[0]["node"] == "step1"
    assert errors[0]["field"] == field
    assert fragment in errors[0]["message"]


def test_smart_crop_cuts_every_frame_of_an_animation_at_one_place() -> None:
    frames = [half_detailed(200, 100, "right") for _ in range(2)] + [Image.new("RGB", (200, 100), (128, 128, 128))]
    src = ImageValue(frames[0], "GIF", frames=frames, durations=[50, 50, 50])
    op = get_operation("crop")
    assert op is not None
    params = parse_pipeline([{"op": "crop", "params": {"aspect": "1:1", "gravity": "smart"}}]).nodes[0].params
    out = op.run([src], params, RunContext())
    assert isinstance(out, ImageValue) and out.frames is not None
    assert [f.tobytes() for f in out.frames] == [f.crop((100, 0, 200, 100)).tobytes() for f in frames]
    assert out.image is out.frames[0]
