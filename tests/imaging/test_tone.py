"""grayscale, brightness, contrast, saturation and gamma: pixel values, alpha, grey input, bad parameters."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image, ImageCms

from pixmill.imaging.ops.gamma import gamma_table
from tests.imaging.tone_helpers import refused_fields, run_op, two_tone, with_alpha_ramp

TONE_OPS: list[tuple[str, dict[str, Any]]] = [
    ("grayscale", {}),
    ("brightness", {"factor": 1.7}),
    ("contrast", {"factor": 2.0}),
    ("saturation", {"factor": 0.3}),
    ("gamma", {"gamma": 0.5}),
    ("auto_enhance", {"local_contrast": 1.0}),
    ("tint", {"color": "#3366cc", "strength": 0.8, "mode": "multiply"}),
]


def colourful() -> Image.Image:
    im = Image.new("RGB", (40, 20), (200, 120, 40))
    im.paste((30, 90, 160), (20, 0, 40, 20))
    im.paste((120, 120, 120), (0, 10, 10, 20))
    return im


# --- grayscale ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rgb", "luma"),
    [((255, 0, 0), 76), ((0, 255, 0), 150), ((0, 0, 255), 29), ((255, 255, 255), 255), ((90, 90, 90), 90)],
)
def test_grayscale_is_itu_r_601_2_luma(rgb: tuple[int, int, int], luma: int) -> None:
    out = run_op("grayscale", {}, Image.new("RGB", (8, 8), rgb))
    assert out.mode == "L"
    assert abs(int(out.getpixel((4, 4))) - luma) <= 1  # type: ignore[arg-type]


def test_grayscale_of_rgba_is_la_with_the_same_alpha() -> None:
    src = with_alpha_ramp(colourful())
    out = run_op("grayscale", {}, src)
    assert out.mode == "LA"
    assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()
    assert out.getchannel("L").tobytes() == src.convert("RGB").convert("L").tobytes()


def test_grayscale_leaves_grey_images_as_they_are() -> None:
    src = two_tone("L", 30, 200)
    assert run_op("grayscale", {}, src).tobytes() == src.tobytes()
    src_la = with_alpha_ramp(src)
    out = run_op("grayscale", {}, src_la)
    assert out.mode == "LA" and out.tobytes() == src_la.tobytes()


def test_grayscale_drops_an_rgb_icc_profile_that_no_longer_fits() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    grey = run_op("grayscale", {}, colourful(), icc_profile=srgb)
    assert grey.info.get("icc_profile") is None
    bright = run_op("brightness", {"factor": 1.2}, colourful(), icc_profile=srgb)
    assert bright.info.get("icc_profile") == srgb


# --- brightness --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("factor", "expected"), [(1.5, 150), (1.0, 100), (0.5, 50), (0.0, 0), (3.0, 255)])
def test_brightness_scales_every_channel(factor: float, expected: int) -> None:
    out = run_op("brightness", {"factor": factor}, Image.new("RGB", (8, 8), (100, 100, 100)))
    assert out.mode == "RGB"
    for channel in out.getpixel((3, 3)):  # type: ignore[union-attr]
        assert abs(channel - expected) <= 1


def test_brightness_keeps_hue_ratios_below_clipping() -> None:
    out = run_op("brightness", {"factor": 1.2}, Image.new("RGB", (4, 4), (200, 100, 50)))
    assert out.getpixel((0, 0)) == (240, 120, 60)


def test_brightness_works_on_grey_images() -> None:
    out = run_op("brightness", {"factor": 1.5}, Image.new("L", (8, 8), 100))
    assert out.mode == "L" and abs(int(out.getpixel((0, 0))) - 150) <= 1  # type: ignore[arg-type]


# --- contrast ----------------------------------------------------------------------------------------------


def test_contrast_zero_gives_a_flat_image() -> None:
    out = run_op("contrast", {"factor": 0}, two_tone("RGB", (20, 20, 20), (220, 220, 220)))
    assert len(out.getcolors() or []) == 1
    assert all(abs(c - 120) <= 1 for c in out.getpixel((0, 0)))  # type: ignore[union-attr]


def test_contrast_above_one_pushes_values_away_from_the_mean() -> None:
    out = run_op("contrast", {"factor": 2.0}, two_tone("L", 100, 140))
    dark, light = int(out.getpixel((0, 0))), int(out.getpixel((19, 0)))  # type: ignore[arg-type]
    assert abs(dark - 80) <= 1 and abs(light - 160) <= 1  # mean 120, distances doubled


def test_contrast_one_changes_nothing() -> None:
    src = colourful()
    assert run_op("contrast", {"factor": 1}, src).tobytes() == src.tobytes()


# --- saturation --------------------------------------------------------------------------------------------


def test_saturation_zero_equals_grayscale() -> None:
    src = colourful()
    out = run_op("saturation", {"factor": 0}, src)
    assert out.mode == "RGB"
    grey = run_op("grayscale", {}, src)
    r, g, b = out.split()
    assert r.tobytes() == g.tobytes() == b.tobytes() == grey.tobytes()


def test_saturation_above_one_spreads_channels_from_grey() -> None:
    out = run_op("saturation", {"factor": 2.0}, Image.new("RGB", (4, 4), (150, 100, 100)))
    r, g, b = out.getpixel((0, 0))  # type: ignore[misc]
    assert r - g > 50 * 1.9 and g == b


def test_saturation_leaves_grey_images_as_they_are() -> None:
    src = with_alpha_ramp(two_tone("L", 30, 200))
    assert run_op("saturation", {"factor": 3}, src).tobytes() == src.tobytes()


# --- gamma -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("gamma", "value", "expected"), [(2.2, 128, 186), (1 / 2.2, 128, 56), (1.0, 77, 77)])
def test_gamma_is_255_times_v_over_255_to_the_one_over_gamma(gamma: float, value: int, expected: int) -> None:
    assert round(255 * (value / 255) ** (1 / gamma)) == expected
    out = run_op("gamma", {"gamma": gamma}, Image.new("RGB", (4, 4), (value, value, value)))
    assert out.getpixel((1, 1)) == (expected, expected, expected)


def test_gamma_keeps_black_and_white_and_is_monotonic() -> None:
    table = gamma_table(0.4)
    assert table[0] == 0 and table[255] == 255
    assert table == sorted(table)
    assert len(table) == 256


def test_gamma_works_on_grey_images() -> None:
    out = run_op("gamma", {"gamma": 2.2}, Image.new("L", (4, 4), 128))
    assert out.mode == "L" and out.getpixel((0, 0)) == 186


# --- every tone operation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "params"), TONE_OPS)
def test_alpha_is_untouched(op: str, params: dict[str, Any]) -> None:
    src = with_alpha_ramp(colourful())
    out = run_op(op, params, src)
    assert out.mode in ("RGBA", "LA")
    assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()


@pytest.mark.parametrize(("op", "params"), TONE_OPS)
@pytest.mark.parametrize("mode", ["L", "LA"])
def test_grey_input_works(op: str, params: dict[str, Any], mode: str) -> None:
    src = two_tone("L", 60, 180)
    if mode == "LA":
        src = with_alpha_ramp(src)
    out = run_op(op, params, src)
    assert out.size == src.size
    expected_modes = {"L": ("L", "RGB"), "LA": ("LA", "RGBA")}[mode]  # tint makes colour
    assert out.mode in expected_modes
    if mode == "LA":
        assert out.getchannel("A").tobytes() == src.getchannel("A").tobytes()


@pytest.mark.parametrize(("op", "params"), TONE_OPS)
def test_output_is_deterministic(op: str, params: dict[str, Any]) -> None:
    src = with_alpha_ramp(colourful())
    assert run_op(op, params, src).tobytes() == run_op(op, params, src).tobytes()


# --- bad parameters ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "params", "field"),
    [
        ("brightness", {"factor": -0.1}, "params.factor"),
        ("brightness", {"factor": 10.5}, "params.factor"),
        ("brightness", {}, "params.factor"),
        ("contrast", {"factor": 11}, "params.factor"),
        ("contrast", {"factor": "more"}, "params.factor"),
        ("saturation", {"factor": -1}, "params.factor"),
        ("gamma", {"gamma": 0.05}, "params.gamma"),
        ("gamma", {"gamma": 12}, "params.gamma"),
        ("gamma", {}, "params.gamma"),
        ("grayscale", {"factor": 1}, "params.factor"),
        ("brightness", {"factor": 1, "amount": 2}, "params.amount"),
    ],
)
def test_bad_parameters_are_refused_before_running(op: str, params: dict[str, Any], field: str) -> None:
    assert refused_fields(op, params) == [field]
