"""watermark: blend an overlay image (a second input) or text onto the image, once or tiled.

Sizes: an overlay image is scaled to `scale` x the base width (and shrunk, aspect kept, if it would be taller than
the base); text is drawn at `font_size` pixels, smaller where it would not fit inside the margins.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydantic import Field, field_validator, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.param_types import Color, Gravity, anchored_offset
from pixmill.imaging.values import ImageValue, Value

DEFAULT_SCALE = 0.25
DEFAULT_FONT_SIZE = 32
DEFAULT_COLOR = (255, 255, 255, 255)
_FIT_TRIES = 4  # glyph metrics do not scale exactly linearly: re-measure a few times when shrinking text


class WatermarkParams(Params):
    text: str | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Text to draw (Pillow's built-in font). Give text or a second input (the overlay image).",
    )
    position: Gravity = Field(default="southeast", description="Where the overlay goes (compass point or centre).")
    margin: int = Field(
        default=16, ge=0, le=10_000, description="Distance from the edges in pixels; with tile, also the gap between."
    )
    opacity: float = Field(default=0.5, ge=0.0, le=1.0, description="0-1, multiplied into the overlay's own alpha.")
    scale: float | None = Field(
        default=None,
        ge=0.01,
        le=1.0,
        description=f"Overlay image width as a fraction of the base width (default {DEFAULT_SCALE}). "
        "Overlay images only.",
    )
    font_size: int | None = Field(
        default=None,
        ge=4,
        le=2000,
        description=f"Text size in pixels (default {DEFAULT_FONT_SIZE}); text that does not fit inside the margins is "
        "made smaller. Text only.",
    )
    color: Color | None = Field(default=None, description="Text colour, alpha included (default white). Text only.")
    tile: bool = Field(default=False, description="Repeat the overlay across the whole image, margin apart.")

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("text is blank")
        return v

    @model_validator(mode="after")
    def _options_fit_kind(self) -> WatermarkParams:
        if self.text is None:
            if self.font_size is not None:
                raise ValueError("font_size applies to text only; size an overlay image with scale")
            if self.color is not None:
                raise ValueError("color applies to text only")
        elif self.scale is not None:
            raise ValueError("scale applies to overlay images only; size text with font_size")
        return self


def _check_inputs(p: WatermarkParams, count: int) -> str | None:
    if p.text is not None and count > 1:
        return "give text or a second input (the overlay image), not both"
    if p.text is None and count < 2:
        return "give text or a second input (the overlay image), not neither"
    return None


def _fit(size: tuple[int, int], bounds: tuple[int, int]) -> float:
    """The factor (at most 1) that makes `size` fit inside `bounds`."""
    return min(1.0, bounds[0] / size[0], bounds[1] / size[1])


def text_overlay(text: str, font_size: int, color: tuple[int, int, int, int], bounds: tuple[int, int]) -> Image.Image:
    """`text` as an RGBA image cropped to its ink, at `font_size` or smaller so that it fits in `bounds`."""
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    size = font_size
    for _ in range(_FIT_TRIES):
        font = ImageFont.load_default(size=size)
        box = probe.textbbox((0, 0), text, font=font)
        left, top, right, bottom = math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3])
        ink = (max(1, right - left), max(1, bottom - top))
        factor = _fit(ink, bounds)
        if factor >= 1 or size == 1:
            break
        size = max(1, min(size - 1, math.floor(size * factor)))
    mask = Image.new("L", (min(ink[0], bounds[0]), min(ink[1], bounds[1])))
    ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255)
    overlay = Image.new("RGBA", mask.size, color)
    overlay.putalpha(mask.point(lambda v: v * color[3] // 255) if color[3] < 255 else mask)
    return overlay


def image_overlay(overlay: Image.Image, scale: float, base: tuple[int, int]) -> Image.Image:
    """`overlay` in RGBA, `scale` x the base width wide (aspect kept), no larger than the base."""
    rgba = overlay.convert("RGBA") if overlay.mode != "RGBA" else overlay
    width = base[0] * scale
    height = width * rgba.height / rgba.width
    factor = _fit((math.ceil(width), math.ceil(height)), base)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if size == rgba.size:
        return rgba
    return rgba.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _faded(overlay: Image.Image, opacity: float) -> Image.Image:
    if opacity >= 1:
        return overlay
    out = overlay.copy()
    out.putalpha(overlay.getchannel("A").point(lambda v: round(v * opacity)))
    return out


def _tiled(overlay: Image.Image, base: tuple[int, int], at: tuple[int, int], gap: int) -> Image.Image:
    """A base-sized RGBA layer of `overlay` repeated `gap` apart, one copy at `at`.

    Each pixel of the layer is looked up in the overlay (or its transparent border) by its position in the
    repeat, so nothing larger than the base is ever allocated, however small the overlay or wide the gap.
    """
    pixels = np.asarray(overlay)
    bordered = np.zeros((overlay.height + 1, overlay.width + 1, 4), dtype=np.uint8)  # last row, column: the gap
    bordered[: overlay.height, : overlay.width] = pixels
    cell_w, cell_h = overlay.width + gap, overlay.height + gap
    cols = (np.arange(base[0]) - at[0]) % cell_w
    rows = (np.arange(base[1]) - at[1]) % cell_h
    cols = np.minimum(cols, overlay.width)
    rows = np.minimum(rows, overlay.height)
    return Image.fromarray(bordered[rows[:, None], cols[None, :]], "RGBA")


def composite(base: Image.Image, overlay: Image.Image, at: tuple[int, int]) -> Image.Image:
    """`overlay` (RGBA) blended over `base` with its top-left at `at` (clipped); the base's size and mode kept."""
    left, top = max(0, at[0]), max(0, at[1])
    right, bottom = min(base.width, at[0] + overlay.width), min(base.height, at[1] + overlay.height)
    if left >= right or top >= bottom:
        return base.copy()
    region = base.crop((left, top, right, bottom)).convert("RGBA")
    piece = overlay.crop((left - at[0], top - at[1], right - at[0], bottom - at[1]))
    blended = Image.alpha_composite(region, piece)
    out = base.copy()
    out.paste(blended.convert(base.mode) if base.mode != "RGBA" else blended, (left, top))
    return out


def watermark(inputs: list[Value], p: WatermarkParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    base = src.image
    if p.text is not None:
        color = p.color or DEFAULT_COLOR
        inside = (base.width - 2 * p.margin, base.height - 2 * p.margin)
        bounds = inside if min(inside) > 0 else base.size
        overlay = text_overlay(p.text, p.font_size or DEFAULT_FONT_SIZE, color, bounds)
    else:
        second = inputs[1]
        assert isinstance(second, ImageValue)
        overlay = image_overlay(second.image, p.scale or DEFAULT_SCALE, base.size)
    overlay = _faded(overlay, p.opacity)
    inner = (base.width - 2 * p.margin, base.height - 2 * p.margin)
    x, y = anchored_offset(inner, overlay.size, p.position)
    at = (x + p.margin, y + p.margin)
    if p.tile:
        return src.with_image(composite(base, _tiled(overlay, base.size, at, p.margin), (0, 0)))
    return src.with_image(composite(base, overlay, at))


register(
    Operation(
        name="watermark",
        summary="Blend an overlay image (second input) or text onto the image at a compass position, or tiled.",
        params=WatermarkParams,
        run=watermark,
        arity=(1, 2),
        check_inputs=_check_inputs,
    )
)
