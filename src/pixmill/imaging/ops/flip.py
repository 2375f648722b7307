"""flip: mirror the image left-right, top-bottom or both (lossless: pixels are moved, never resampled)."""

from __future__ import annotations

from typing import Literal

from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value

_TRANSPOSE = {
    "horizontal": Image.Transpose.FLIP_LEFT_RIGHT,
    "vertical": Image.Transpose.FLIP_TOP_BOTTOM,
    "both": Image.Transpose.ROTATE_180,  # a left-right flip then a top-bottom one
}


class FlipParams(Params):
    direction: Literal["horizontal", "vertical", "both"] = Field(
        description="horizontal: mirror left-right; vertical: mirror top-bottom; both: the two (a half turn)."
    )


def flip(inputs: list[Value], p: FlipParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    return src.with_image(src.image.transpose(_TRANSPOSE[p.direction]))


register(
    Operation(
        name="flip",
        summary="Mirror the image horizontally, vertically or both (lossless).",
        params=FlipParams,
        run=flip,
    )
)
