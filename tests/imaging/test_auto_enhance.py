"""auto_enhance: levels stretched on luminance with the hues kept, optional local contrast."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.ops.auto_enhance import levels_table
from tests.imaging.tone_helpers import refused_fields, run_op, with_alpha_ramp


def low_contrast(width: int = 102, height: int = 20) -> Image.Image:
    """A horizontal grey ramp from 100 to 150."""
    row = np.linspace(100, 150, width).round().astype(np.uint8)
    return Image.fromarray(np.tile(row, (height, 1)), mode="L")


def test_a_low_contrast_image_is_stretched_to_the_full_range() -> None:
    out = np.asarray(run_op("auto_enhance", {}, low_contrast().convert("RGB")))
    assert out.min() <= 5 and out.max() >= 250
    assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()  # still grey


def test_a_low_contrast_grey_image_is_stretched_too() -> None:
    out = run_op("auto_enhance", {"cutoff": 0}, low_contrast())
    assert out.mode == "L"
    assert out.getextrema() == (0, 255)


def test_the_same_table_is_applied_to_every_channel_so_hues_keep_their_order() -> None:
    src = low_contrast().convert("RGB")
    src.paste((140, 120, 105), (0, 0, 10, 10))  # an orange-brown patch: r > g > b
    out = run_op("auto_enhance", {"cutoff": 0}, src)
    r, g, b = out.getpixel((5, 5))  # type: ignore[misc]
    assert r > g > b
    assert r - b > 140 - 105  # stretched, not just kept
    hue_in = colorsys.rgb_to_hsv(140 / 255, 120 / 255, 105 / 255)[0]
    hue_out = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)[0]
    assert abs(hue_in - hue_out) < 0.02


def test_cutoff_ignores_a_few_outliers() -> None:
    src = low_contrast(200, 50)
    src.paste(0, (0, 0, 2, 2))  # 4 black pixels out of 10,000
    src.paste(255, (198, 48, 200, 50))
    kept = np.asarray(run_op("auto_enhance", {"cutoff": 0}, src))
    clipped = np.asarray(run_op("auto_enhance", {"cutoff": 0.5}, src))
    assert kept[25, 20] > 80  # the outliers already span 0-255: barely stretched
    assert clipped[25, 20] < 40  # without them the ramp is stretched


def test_levels_table_maps_the_clipped_range_to_0_255() -> None:
    histogram = [0] * 256
    histogram[100] = histogram[150] = 50
    table = levels_table(histogram, 0)
    assert table is not None
    assert table[100] == 0 and table[150] == 255 and table[125] == 128
    assert table[0] == 0 and table[255] == 255


def test_a_flat_image_is_left_as_it_is() -> None:
    assert levels_table([0] * 120 + [9] + [0] * 135, 0.5) is None
    assert levels_table([0] * 256, 0.5) is None
    src = Image.new("RGB", (10, 10), (90, 60, 30))
    assert run_op("auto_enhance", {}, src).tobytes() == src.tobytes()


def test_fully_transparent_pixels_do_not_count() -> None:
    src = low_contrast().convert("RGBA")
    src.paste((0, 0, 0, 0), (0, 0, 51, 20))  # black but invisible: the visible part spans 125-150
    out = run_op("auto_enhance", {"cutoff": 0}, src)
    assert out.getpixel((101, 10))[0] == 255  # type: ignore[index]
    assert out.getpixel((51, 10))[0] <= 10  # type: ignore[index]
    assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()


def test_local_contrast_deepens_the_edge_between_two_regions() -> None:
    src = Image.new("L", (200, 100), 0)
    src.paste(255, (100, 0, 200, 100))
    src = src.point(lambda v: 90 if v == 0 else 160)  # make room to move either way without clipping
    src.paste(0, (0, 0, 1, 1))
    src.paste(255, (199, 99, 200, 100))  # so the levels stretch is the identity
    plain = np.asarray(run_op("auto_enhance", {"cutoff": 0}, src), dtype=int)
    local = np.asarray(run_op("auto_enhance", {"cutoff": 0, "local_contrast": 1.0}, src), dtype=int)
    assert (plain == np.asarray(src)).all()
    assert local[50, 97] < plain[50, 97] and local[50, 102] > plain[50, 102]  # darker dark side, lighter light
    assert abs(local[50, 30] - plain[50, 30]) <= 1  # far from the edge: unchanged


def test_local_contrast_moves_every_channel_the_same_way() -> None:
    src = Image.new("RGB", (200, 100), (120, 90, 60))
    src.paste((180, 150, 120), (100, 0, 200, 100))
    src.paste((0, 0, 0), (0, 0, 1, 1))
    src.paste((255, 255, 255), (199, 99, 200, 100))
    out = np.asarray(run_op("auto_enhance", {"cutoff": 0, "local_contrast": 2.0}, src), dtype=int)
    before = np.asarray(src, dtype=int)
    delta = out - before
    assert (delta[:, :, 0] == delta[:, :, 1]).all() and (delta[:, :, 1] == delta[:, :, 2]).all()
    assert delta[50, 98, 0] < 0 and delta[50, 101, 0] > 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cutoff": -1}, "params.cutoff"),
        ({"cutoff": 25}, "params.cutoff"),
        ({"local_contrast": 2.5}, "params.local_contrast"),
        ({"local_contrast": -0.1}, "params.local_contrast"),
        ({"radius": 10}, "params.radius"),
    ],
)
def test_bad_parameters_are_refused_before_running(params: dict[str, float], field: str) -> None:
    assert refused_fields("auto_enhance", params) == [field]


def test_alpha_ramp_is_kept_with_local_contrast() -> None:
    src = with_alpha_ramp(low_contrast().convert("RGB"))
    out = run_op("auto_enhance", {"local_contrast": 2}, src)
    assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()
