"""round_corners: make the corners transparent along quarter circles, antialiased; the output has alpha."""

from __future__ import annotations

import math

from PIL import Image, ImageChops, ImageDraw
from pydantic import Field, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value

SUPERSAMPLE = 4  # the corner is drawn at 4x and box-averaged down: 16 samples per pixel
_BAND = 1024  # output rows of the corner drawn at a time, to bound the 4x canvas's memory
_WITH_ALPHA = {"L": "LA", "LA": "LA", "RGB": "RGBA", "RGBA": "RGBA"}


class RoundCornersParams(Params):
    radius: int | None = Field(default=None, ge=1, le=10_000, description="Corner radius in pixels.")
    radius_percent: float | None = Field(
        default=None, gt=0, le=50, description="Corner radius as a percentage of the shorter side (50: a circle)."
    )

    @model_validator(mode="after")
    def _one_radius(self) -> RoundCornersParams:
        if (self.radius is None) == (self.radius_percent is None):
            raise ValueError("give exactly one of radius and radius_percent")
        return self


def corner_radius(p: RoundCornersParams, width: int, height: int) -> float:
    """The radius in pixels for an image of width x height, at most half the shorter side."""
    short = min(width, height)
    radius = p.radius if p.radius is not None else short * (p.radius_percent or 0) / 100
    return min(float(radius), short / 2)


def corner_mask(radius: float) -> Image.Image:
    """Coverage (L, 0-255) of the top-left corner: transparent outside the quarter circle of `radius`."""
    big = round(radius * SUPERSAMPLE)  # radius at 4x
    side = math.ceil(big / SUPERSAMPLE)
    patch = Image.new("L", (side, side))
    for top in range(0, side, _BAND):
        rows = min(_BAND, side - top)
        band = Image.new("L", (side * SUPERSAMPLE, rows * SUPERSAMPLE), 255)
        draw = ImageDraw.Draw(band)
        y0 = -top * SUPERSAMPLE
        draw.rectangle((0, y0, big - 1, y0 + big - 1), fill=0)
        draw.ellipse((0, y0, 2 * big - 1, y0 + 2 * big - 1), fill=255)
        patch.paste(band.reduce(SUPERSAMPLE), (0, top))
    return patch


def round_image(im: Image.Image, radius: float) -> Image.Image:
    """`im` with alpha (LA or RGBA) whose corners are cut along quarter circles of `radius`."""
    mode = _WITH_ALPHA[im.mode]
    out = im.convert(mode) if im.mode != mode else im.copy()
    alpha = out.getchannel("A")
    corner = corner_mask(radius)
    w, h = im.size
    n = corner.width
    if n == 0:  # a radius under 1/8 px rounds nothing
        return out
    for transpose, x, y in (
        (None, 0, 0),
        (Image.Transpose.FLIP_LEFT_RIGHT, w - n, 0),
        (Image.Transpose.FLIP_TOP_BOTTOM, 0, h - n),
        (Image.Transpose.ROTATE_180, w - n, h - n),
    ):
        shape = corner.transpose(transpose) if transpose is not None else corner
        box = (x, y, x + n, y + n)
        alpha.paste(ImageChops.multiply(alpha.crop(box), shape), box)
    out.putalpha(alpha)
    return out


def round_corners(inputs: list[Value], p: RoundCornersParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    im = src.image
    return src.with_image(round_image(im, corner_radius(p, *im.size)))


register(
    Operation(
        name="round_corners",
        summary="Round the corners (radius in px or percent of the shorter side); the output gets alpha.",
        params=RoundCornersParams,
        run=round_corners,
    )
)
