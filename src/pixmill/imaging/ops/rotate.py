"""rotate: turn the image by an angle in degrees, clockwise positive.

Multiples of 90 are lossless (pixels are moved, never resampled) and swap width and height for 90
and 270 whatever ``expand`` says. Any other angle is resampled bicubically: with ``expand`` the
canvas grows to hold the whole turned image, without it the size stays and the corners are cut;
uncovered corners take the ``background`` colour (alpha below 255 gives an output with alpha).
"""

from __future__ import annotations

import math

from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.ops.pad import WHITE, canvas_mode, fill_for
from pixmill.imaging.param_types import Color
from pixmill.imaging.values import ImageValue, Value

_QUARTER_TURNS = {
    90: Image.Transpose.ROTATE_270,  # Pillow's transposes turn counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
# Modes with alpha are resampled premultiplied, so transparent pixels' colours do not bleed in. Pillow
# would do that itself, but would then read a translucent fill colour as premultiplied; converting
# here lets the fill colour be converted too.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


class RotateParams(Params):
    angle: float = Field(
        ge=-360.0,
        le=360.0,
        description="Degrees, clockwise positive (-90 turns counter-clockwise); multiples of 90 are lossless.",
    )
    expand: bool = Field(
        default=True,
        description="For angles that are not multiples of 90: grow the canvas to hold the whole image "
        "(otherwise keep the size and cut the corners).",
    )
    background: Color = Field(
        default=WHITE,
        description="Colour of the uncovered corners ('#rrggbb', '#rrggbbaa', a CSS name or [r, g, b(, a)]); "
        "alpha below 255 gives an output with alpha.",
    )


def _rotated_size(size: tuple[int, int], angle: float) -> tuple[int, int]:
    """About the size Image.rotate(expand=True) gives, computed before rotating (to check limits first)."""
    w, h = size
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return math.ceil(w * c + h * s), math.ceil(w * s + h * c)


def rotate(inputs: list[Value], p: RotateParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    im = src.image
    turn = p.angle % 360
    if turn == 0:
        return src.with_image(im)
    if turn in _QUARTER_TURNS:
        return src.with_image(im.transpose(_QUARTER_TURNS[int(turn)]))
    if p.expand:
        check_output_size(_rotated_size(im.size, turn), ctx.limits, "params.angle")
    mode = canvas_mode(im.mode, p.background)
    work = im if im.mode == mode else im.convert(mode)
    fill: object = fill_for(mode, p.background)
    if mode in _PREMULTIPLIED:
        work = work.convert(_PREMULTIPLIED[mode])
        fill = Image.new(mode, (1, 1), fill_for(mode, p.background)).convert(work.mode).getpixel((0, 0))
    assert isinstance(fill, int | tuple)
    out = work.rotate(-turn, resample=Image.Resampling.BICUBIC, expand=p.expand, fillcolor=fill)
    if out.mode != mode:
        out = out.convert(mode)
    return src.with_image(out)


register(
    Operation(
        name="rotate",
        summary="Rotate clockwise by an angle: lossless for multiples of 90, bicubic with a background otherwise.",
        params=RotateParams,
        run=rotate,
    )
)
