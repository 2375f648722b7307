from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from pixmill.canvas import grid as grid_module
from pixmill.canvas.grid import CanvasSettings, sample
from pixmill.imaging.decode import decode
from pixmill.imaging.limits import Limits
from pixmill.imaging.values import ImageValue
from tests import images


def png(im: Image.Image) -> bytes:
    return images.encode(im, "PNG")


def halves(width: int = 400, height: int = 200) -> Image.Image:
    """Red left half, blue right half."""
    im = Image.new("RGB", (width, height), (255, 0, 0))
    im.paste((0, 0, 255), (width // 2, 0, width, height))
    return im


def test_sizes_in_cells() -> None:
    assert CanvasSettings().base_size() == (160, 200)  # 40 x 50 cm at 2.5 mm
    assert CanvasSettings(width_cm=60, height_cm=80).base_size() == (240, 320)
    assert CanvasSettings(width_cm=30, height_cm=40, pitch_mm=2.8).base_size() == (107, 143)
    assert CanvasSettings(width_in=16, height_in=20).base_size() == (163, 203)
    assert CanvasSettings(cols=32, rows=40).base_size() == (32, 40)


@pytest.mark.parametrize(
    "bad",
    [
        {"width_cm": 40},
        {"cols": 10},
        {"width_cm": 40, "height_cm": 50, "cols": 10, "rows": 10},
        {"max_colors": 0},
        {"max_colors": 201},
        {"fit": "pad", "gravity": "smart"},
        {"background": "#ff000080"},
        {"cols": 1000, "rows": 1000},
        {"width_cm": 500, "height_cm": 500, "pitch_mm": 1},
        {"dither_strength": 1.5},
        {"unknown": 1},
        {"orientation": "sideways"},
    ],
)
def test_bad_settings_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CanvasSettings.model_validate(bad)


def test_settings_round_trip_through_json() -> None:
    settings = CanvasSettings.model_validate(
        {"width_in": 12, "height_in": 16, "background": "#102030", "gravity": "smart", "max_colors": 12}
    )
    dumped = settings.model_dump(mode="json")
    assert CanvasSettings.model_validate(dumped) == settings
    assert dumped["background"] == [16, 32, 48, 255]


def test_orientation() -> None:
    auto = CanvasSettings(width_cm=40, height_cm=50)
    assert auto.grid_size((4000, 3000)) == (200, 160)
    assert auto.grid_size((3000, 4000)) == (160, 200)
    assert auto.grid_size((1000, 1000)) == (160, 200)
    assert CanvasSettings(orientation="portrait", cols=50, rows=40).grid_size((4000, 3000)) == (40, 50)
    assert CanvasSettings(orientation="landscape", cols=40, rows=50).grid_size((300, 400)) == (50, 40)


def test_a_big_jpeg_is_shrunk_on_load(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []

    def spy(*args: Any, **kwargs: Any) -> ImageValue:
        value = decode(*args, **kwargs)
        seen.append(value.image.size)
        return value

    monkeypatch.setattr(grid_module, "decode", spy)
    photo = Image.radial_gradient("L").resize((3200, 2400)).convert("RGB")
    data = images.encode(photo, "JPEG", quality=85)
    cells = sample(data, CanvasSettings(width_cm=40, height_cm=50), Limits())
    assert cells.shape == (160, 200, 3) and cells.dtype == np.uint8
    assert seen == [(400, 300)]  # decoded at 1/8 scale, still covering the 200 x 160 grid


@pytest.mark.parametrize(("gravity", "colour"), [("west", (255, 0, 0)), ("east", (0, 0, 255))])
def test_crop_gravity(gravity: str, colour: tuple[int, int, int]) -> None:
    settings = CanvasSettings.model_validate({"cols": 10, "rows": 10, "gravity": gravity})
    cells = sample(png(halves()), settings, Limits())
    assert cells.shape == (10, 10, 3)
    assert np.all(cells == colour)


def test_centre_crop_keeps_the_middle() -> None:
    cells = sample(png(halves()), CanvasSettings(cols=10, rows=10), Limits())
    assert np.all(cells[:, :4] == (255, 0, 0)) and np.all(cells[:, 6:] == (0, 0, 255))


def test_smart_crop_finds_the_detail() -> None:
    rng = np.random.default_rng(0)
    im = Image.new("RGB", (400, 200), (128, 128, 128))
    noise = rng.integers(0, 256, (200, 200, 3)).astype(np.uint8)
    im.paste(Image.fromarray(noise, "RGB"), (200, 0))
    cells = sample(png(im), CanvasSettings(cols=20, rows=20, gravity="smart"), Limits())
    assert not np.all(cells == 128)  # the detailed right half, not the flat left one
    assert np.all(sample(png(im), CanvasSettings(cols=20, rows=20, gravity="west"), Limits()) == 128)


def test_pad_puts_the_photo_on_the_background() -> None:
    red = Image.new("RGB", (200, 100), (255, 0, 0))
    settings = CanvasSettings(cols=10, rows=10, fit="pad", background="#00ff00", orientation="portrait")
    cells = sample(png(red), settings, Limits())
    assert np.all(cells[:2] == (0, 255, 0)) and np.all(cells[-2:] == (0, 255, 0))
    assert np.all(cells[3:7] == (255, 0, 0))
    north = sample(png(red), settings.model_copy(update={"gravity": "north"}), Limits())
    assert np.all(north[:5] == (255, 0, 0)) and np.all(north[5:] == (0, 255, 0))


def test_transparency_shows_the_background() -> None:
    im = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    im.paste((0, 0, 255, 255), (0, 0, 20, 40))
    cells = sample(png(im), CanvasSettings(cols=4, rows=4, background="#ffff00"), Limits())
    assert np.all(cells[:, :2] == (0, 0, 255)) and np.all(cells[:, 2:] == (255, 255, 0))


def test_exif_orientation_is_applied_before_the_canvas_is_oriented() -> None:
    upright = sample(images.jpeg(400, 300), CanvasSettings(cols=30, rows=40), Limits())
    assert upright.shape == (30, 40, 3)  # landscape photo: auto orientation turns the canvas
    turned = sample(images.jpeg_with_exif(orientation=6), CanvasSettings(cols=30, rows=40), Limits())
    assert turned.shape == (40, 30, 3)  # displayed 300 x 400


def test_grayscale_photos_become_rgb() -> None:
    buf = io.BytesIO()
    Image.new("L", (50, 50), 77).save(buf, "PNG")
    cells = sample(buf.getvalue(), CanvasSettings(cols=5, rows=5), Limits())
    assert np.all(cells == 77) and cells.shape == (5, 5, 3)
