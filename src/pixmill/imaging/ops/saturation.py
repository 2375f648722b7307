"""saturation: scale each pixel's distance from its own grey (luma), alpha untouched."""

from __future__ import annotations

from PIL import ImageEnhance
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import on_colour
from pixmill.imaging.values import ImageValue, Value


class SaturationParams(Params):
    factor: float = Field(
        ge=0.0,
        le=10.0,
        description="0 gives grey (the grayscale luma, kept in RGB), 1 leaves the image unchanged, > 1 gives "
        "more vivid colours.",
    )


def saturation(inputs: list[Value], p: SaturationParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    if src.image.mode in ("L", "LA"):  # grey has no saturation to change
        return src.with_image(src.image)
    return src.with_image(on_colour(src.image, lambda colour: ImageEnhance.Color(colour).enhance(p.factor)))


register(
    Operation(
        name="saturation",
        summary="Make colours more vivid (factor > 1) or greyer (factor < 1, 0 = grey); alpha is kept.",
        params=SaturationParams,
        run=saturation,
    )
)
