"""Canvas settings, and sampling a photo into the grid of cells (one sRGB colour per cell).

Sampling decodes with a size hint (a JPEG is decoded at the smallest DCT scale that still covers the grid),
crops the largest region of the canvas aspect (placed by gravity; `smart` is the imaging crop's edge-energy
window) or pads the photo onto a background to that aspect, and area-averages it into the grid.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pixmill.canvas.types import CanvasError
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.decode import ImageInfo, SizeHint, decode
from pixmill.imaging.geometry import largest_region, smart_offset
from pixmill.imaging.limits import Limits
from pixmill.imaging.param_types import Color, Gravity, anchored_offset
from pixmill.imaging.values import ImageValue

MAX_SIDE_CELLS = 1000
MAX_CELLS = 500_000
DEFAULT_SIZE_CM = (40.0, 50.0)
MM_PER_INCH = 25.4

Orientation = Literal["portrait", "landscape", "auto"]
Fit = Literal["crop", "pad"]
CanvasGravity = Literal[Gravity, "smart"]


class CanvasSettings(BaseModel):
    """How a photo becomes a canvas. Size: width_cm + height_cm, width_in + height_in, or cols + rows (cells);
    with none of them, 40 x 50 cm. Physical sizes become cells at `pitch_mm` per drill."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width_cm: float | None = Field(default=None, gt=0, le=500, description="Canvas width in centimetres.")
    height_cm: float | None = Field(default=None, gt=0, le=500, description="Canvas height in centimetres.")
    width_in: float | None = Field(default=None, gt=0, le=200, description="Canvas width in inches.")
    height_in: float | None = Field(default=None, gt=0, le=200, description="Canvas height in inches.")
    cols: int | None = Field(default=None, ge=1, le=MAX_SIDE_CELLS, description="Cells across (instead of a size).")
    rows: int | None = Field(default=None, ge=1, le=MAX_SIDE_CELLS, description="Cells down (instead of a size).")
    pitch_mm: float = Field(default=2.5, ge=1.0, le=10.0, description="Drill pitch: the side of one cell in mm.")
    orientation: Orientation = Field(
        default="auto", description="portrait, landscape, or auto (the photo's orientation); swaps the size."
    )
    fit: Fit = Field(default="crop", description="crop the photo to the canvas aspect, or pad it onto a background.")
    gravity: CanvasGravity = Field(
        default="centre", description="Where the crop (or the padded photo) sits: a compass point, or smart (crop)."
    )
    background: Color = Field(default=(255, 255, 255, 255), description="Pad colour, and behind transparency.")
    max_colors: int = Field(default=40, ge=1, le=200, description="The colour budget K.")
    dither: bool = Field(default=False, description="Floyd-Steinberg error diffusion in CIELAB.")
    dither_strength: float = Field(default=0.8, ge=0.0, le=1.0, description="Share of the error diffused.")
    cleanup: bool = Field(default=True, description="Merge isolated cells and small regions into their surround.")
    min_region: int = Field(default=3, ge=1, le=100, description="Regions smaller than this many cells merge.")
    drill_shape: Literal["square", "round"] = "square"
    drills_per_bag: int = Field(default=200, ge=1, le=1_000_000)
    spare_percent: float = Field(default=10.0, ge=0.0, le=100.0, description="Extra drills per colour, percent.")

    @model_validator(mode="after")
    def _check(self) -> CanvasSettings:
        pairs = {
            "width_cm/height_cm": (self.width_cm, self.height_cm),
            "width_in/height_in": (self.width_in, self.height_in),
            "cols/rows": (self.cols, self.rows),
        }
        given = [name for name, pair in pairs.items() if any(v is not None for v in pair)]
        if len(given) > 1:
            raise ValueError(f"give one canvas size, not {' and '.join(given)}")
        for name in given:
            if any(v is None for v in pairs[name]):
                raise ValueError(f"a canvas size needs both {name.replace('/', ' and ')}")
        if self.fit == "pad" and self.gravity == "smart":
            raise ValueError("gravity 'smart' places a crop: use a compass point with fit 'pad'")
        if self.background[3] != 255:
            raise ValueError("the background must be opaque: a canvas has no transparency")
        cols, rows = self.base_size()
        if cols > MAX_SIDE_CELLS or rows > MAX_SIDE_CELLS or cols * rows > MAX_CELLS:
            raise ValueError(
                f"the canvas would be {cols}x{rows} cells; at most {MAX_SIDE_CELLS} a side and {MAX_CELLS} in all"
            )
        return self

    def base_size(self) -> tuple[int, int]:
        """(cols, rows) as given, before orientation."""
        if self.cols is not None and self.rows is not None:
            return self.cols, self.rows
        if self.width_in is not None and self.height_in is not None:
            width_mm, height_mm = self.width_in * MM_PER_INCH, self.height_in * MM_PER_INCH
        elif self.width_cm is not None and self.height_cm is not None:
            width_mm, height_mm = self.width_cm * 10.0, self.height_cm * 10.0
        else:
            width_mm, height_mm = DEFAULT_SIZE_CM[0] * 10.0, DEFAULT_SIZE_CM[1] * 10.0
        return max(1, round(width_mm / self.pitch_mm)), max(1, round(height_mm / self.pitch_mm))

    def grid_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """(cols, rows) for a photo of this displayed size, after orientation."""
        cols, rows = self.base_size()
        if self.orientation == "auto":
            width, height = image_size
            swap = (width > height and cols < rows) or (width < height and cols > rows)
        else:
            swap = (self.orientation == "portrait" and cols > rows) or (self.orientation == "landscape" and cols < rows)
        return (rows, cols) if swap else (cols, rows)


def _region(size: tuple[int, int], grid: tuple[int, int], fit: Fit) -> tuple[int, int]:
    """The region of the photo (crop) or the padded canvas (pad) that maps onto the grid, in photo pixels."""
    ratio = Fraction(grid[0], grid[1])
    if fit == "crop":
        return largest_region(size, ratio)
    width, height = size
    if Fraction(width, height) > ratio:
        return width, max(height, math.ceil(width / ratio))
    return max(width, math.ceil(height * ratio)), height


def _size_hint(settings: CanvasSettings) -> SizeHint:
    def hint(info: ImageInfo) -> tuple[int, int]:
        size = (info.width, info.height)
        cols, rows = settings.grid_size(size)
        region_w, region_h = _region(size, (cols, rows), settings.fit)
        scale = min(1.0, max(cols / region_w, rows / region_h))
        return max(1, math.ceil(info.width * scale)), max(1, math.ceil(info.height * scale))

    return hint


def _flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB or L, with any transparency composited over the background."""
    if image.mode in ("RGBA", "LA"):
        base = Image.new("RGBA", image.size, (*background, 255))
        base.alpha_composite(image.convert("RGBA"))
        return base.convert("RGB")
    return image if image.mode in ("RGB", "L") else image.convert("RGB")


def sample(data: bytes, settings: CanvasSettings, limits: Limits) -> np.ndarray:
    """The photo as a (rows, cols, 3) uint8 sRGB grid: decoded (shrunk on load), fitted and area-averaged."""
    return sample_image(decode(data, limits, size_hint=_size_hint(settings)), settings, limits)


def needed_size(settings: CanvasSettings, width: int, height: int) -> tuple[int, int]:
    """The decoded size sampling needs from a width x height photo (for shrink on load)."""
    size = _size_hint(settings)(ImageInfo("", width, height, "RGB", 1, 1))
    assert size is not None
    return size


def sample_image(value: ImageValue, settings: CanvasSettings, limits: Limits) -> np.ndarray:
    """`sample` for an image already decoded (by a pipeline, say)."""
    cols, rows = settings.grid_size(value.full_size)
    background = (settings.background[0], settings.background[1], settings.background[2])
    image = _flatten(value.image, background)
    width, height = image.size
    region = _region((width, height), (cols, rows), settings.fit)
    if settings.fit == "crop":
        if settings.gravity == "smart":
            left, top = smart_offset([image], region, RunContext(limits=limits))
        else:
            left, top = anchored_offset((width, height), region, settings.gravity)
        box = (left, top, left + region[0], top + region[1])
        cells = image.resize((cols, rows), Image.Resampling.BOX, box=box)
    else:
        assert settings.gravity != "smart"
        canvas = Image.new("RGB", region, background)
        canvas.paste(image.convert("RGB"), anchored_offset(region, (width, height), settings.gravity))
        cells = canvas.resize((cols, rows), Image.Resampling.BOX)
    if cells.mode != "RGB":
        cells = cells.convert("RGB")
    grid = np.asarray(cells, dtype=np.uint8)
    if grid.shape != (rows, cols, 3):
        raise CanvasError(f"sampling produced {grid.shape}, expected ({rows}, {cols}, 3)")
    return grid
