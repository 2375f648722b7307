"""grayscale: convert to luminance (ITU-R 601-2 luma); the output is mode L, or LA when there is alpha."""

from __future__ import annotations

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import on_colour, replace_image
from pixmill.imaging.values import ImageValue, Value


class GrayscaleParams(Params):
    """grayscale takes no parameters."""


def grayscale(inputs: list[Value], p: GrayscaleParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    if src.image.mode in ("L", "LA"):
        return src.with_image(src.image)
    # Pillow's RGB -> L is L = R * 299/1000 + G * 587/1000 + B * 114/1000 (ITU-R 601-2 luma).
    return replace_image(src, on_colour(src.image, lambda colour: colour.convert("L")))


register(
    Operation(
        name="grayscale",
        summary="Convert to grey by ITU-R 601-2 luma; the output is single-channel (L, or LA with alpha).",
        params=GrayscaleParams,
        run=grayscale,
    )
)
