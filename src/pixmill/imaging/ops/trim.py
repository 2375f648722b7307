"""trim: remove uniform borders.

The border colour is the top-left pixel's, or ``color``. A pixel belongs to the border when no
channel (alpha included, for images with alpha) differs from the border colour by more than
``threshold``. On an image with alpha whose border colour is fully transparent, only alpha counts:
any pixel with alpha at most ``threshold`` is border, whatever its colour channels hold.

The result is the smallest rectangle holding every non-border pixel (for an animation, of every
frame: the frames keep one size). An image that is all border (uniform within the threshold) is left
unchanged rather than trimmed to nothing.
"""

from __future__ import annotations

from functools import reduce

from PIL import Image, ImageChops
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.geometry import cut
from pixmill.imaging.param_types import Color
from pixmill.imaging.values import ImageValue, Value


class TrimParams(Params):
    color: Color | None = Field(
        default=None,
        description="Border colour ('#rrggbb', '#rrggbbaa', a CSS name or [r, g, b(, a)]); "
        "default: the colour of the top-left pixel.",
    )
    threshold: int = Field(
        default=10,
        ge=0,
        le=255,
        description="Tolerance 0-255: a pixel is border when no channel differs from the border colour by more.",
    )


def _border_colour(im: Image.Image, color: tuple[int, int, int, int] | None) -> tuple[int, ...]:
    """The border colour in the image's own mode, as a tuple of channel values."""
    sample = im if color is None else Image.new("RGBA", (1, 1), color).convert(im.mode)
    pixel = sample.getpixel((0, 0))
    assert isinstance(pixel, int | tuple)
    return (pixel,) if isinstance(pixel, int) else tuple(int(v) for v in pixel)


def content_box(im: Image.Image, border: tuple[int, ...], threshold: int) -> tuple[int, int, int, int] | None:
    """The smallest box holding every pixel of `im` that is not `border` (in im's mode); None when all are."""
    if im.mode in ("LA", "RGBA") and border[-1] == 0:
        difference = im.getchannel("A")
    else:
        fill = border[0] if len(border) == 1 else border
        channels = ImageChops.difference(im, Image.new(im.mode, im.size, fill)).split()
        difference = reduce(ImageChops.lighter, channels)
    return difference.point([0] * (threshold + 1) + [255] * (255 - threshold)).getbbox()


def trim(inputs: list[Value], p: TrimParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    frames = src.frames or [src.image]
    border = _border_colour(frames[0], p.color)
    boxes = []
    for frame in frames:  # an animation keeps one size: the box that holds every frame's content
        ctx.check_deadline()
        box = content_box(frame, border, p.threshold)
        if box is not None:
            boxes.append(box)
    if not boxes:  # all border: left as it is rather than trimmed to nothing
        return src
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return cut(src, (left, top, right, bottom))


register(
    Operation(
        name="trim",
        summary="Remove uniform borders (the top-left pixel's colour, or a given one) within a tolerance.",
        params=TrimParams,
        run=trim,
        per_frame=False,  # one box for every frame of an animation
    )
)
