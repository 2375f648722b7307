"""brightness: multiply every colour channel by a factor (alpha untouched)."""

from __future__ import annotations

from PIL import ImageEnhance
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import on_colour
from pixmill.imaging.values import ImageValue, Value


class BrightnessParams(Params):
    factor: float = Field(
        ge=0.0,
        le=10.0,
        description="0 gives black, 1 leaves the image unchanged, 1.5 makes every channel 1.5 times brighter "
        "(clipped at 255).",
    )


def brightness(inputs: list[Value], p: BrightnessParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    return src.with_image(on_colour(src.image, lambda colour: ImageEnhance.Brightness(colour).enhance(p.factor)))


register(
    Operation(
        name="brightness",
        summary="Make the image brighter (factor > 1) or darker (factor < 1); alpha is kept.",
        params=BrightnessParams,
        run=brightness,
    )
)
