"""contrast: scale each pixel's distance from the image's mean grey (alpha untouched)."""

from __future__ import annotations

from PIL import ImageEnhance
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import on_colour
from pixmill.imaging.values import ImageValue, Value


class ContrastParams(Params):
    factor: float = Field(
        ge=0.0,
        le=10.0,
        description="0 gives a flat image of the mean grey, 1 leaves the image unchanged, > 1 adds contrast.",
    )


def contrast(inputs: list[Value], p: ContrastParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    return src.with_image(on_colour(src.image, lambda colour: ImageEnhance.Contrast(colour).enhance(p.factor)))


register(
    Operation(
        name="contrast",
        summary="Raise (factor > 1) or lower (factor < 1) contrast around the image's mean grey; alpha is kept.",
        params=ContrastParams,
        run=contrast,
    )
)
