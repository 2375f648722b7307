"""tint: move the image toward a colour.

Modes:
- ``blend`` (default): a flat mix, every pixel moves `strength` of the way toward `color`.
- ``multiply``: luminance is mapped onto `color` (black stays black, white becomes `color`, greys become
  darker shades of it, a duotone), and the result is mixed with the image by `strength`.

A translucent `color` scales `strength` by its alpha. Grey input (L, LA) comes out as RGB (RGBA); alpha is
untouched.
"""

from __future__ import annotations

from typing import Literal

from PIL import Image, ImageOps
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import join_alpha, replace_image, split_alpha
from pixmill.imaging.param_types import Color
from pixmill.imaging.values import ImageValue, Value


class TintParams(Params):
    color: Color = Field(
        description="The tint: '#rrggbb', '#rrggbbaa', a CSS colour name or [r, g, b(, a)]; its alpha, if any, "
        "scales strength."
    )
    strength: float = Field(
        default=0.5, ge=0.0, le=1.0, description="How far to move toward the tinted result: 0 none, 1 all the way."
    )
    mode: Literal["blend", "multiply"] = Field(
        default="blend",
        description="blend: mix every pixel with the flat colour; multiply: map luminance onto the colour "
        "(black stays black, white becomes the colour) and mix with that.",
    )


def tint(inputs: list[Value], p: TintParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    colour, alpha = split_alpha(src.image)
    rgb = colour.convert("RGB")
    r, g, b, a = p.color
    if p.mode == "multiply":
        luma = colour if colour.mode == "L" else colour.convert("L")
        target = ImageOps.colorize(luma, black=(0, 0, 0), white=(r, g, b))
    else:
        target = Image.new("RGB", rgb.size, (r, g, b))
    out = Image.blend(rgb, target, p.strength * a / 255)
    return replace_image(src, join_alpha(out, alpha))


register(
    Operation(
        name="tint",
        summary="Tint toward a colour: a flat blend, or multiply (luminance mapped from black to the colour).",
        params=TintParams,
        run=tint,
    )
)
