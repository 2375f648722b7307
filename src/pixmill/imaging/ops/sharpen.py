"""sharpen: unsharp mask on the colour channels; alpha is left as it is."""

from __future__ import annotations

from PIL import Image, ImageFilter
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value


class SharpenParams(Params):
    radius: float = Field(ge=0.1, le=50, description="Radius (Gaussian sigma) of the blur the mask is made from, px.")
    amount: int = Field(default=100, ge=1, le=500, description="Strength in percent of the difference added back.")
    threshold: int = Field(
        default=0, ge=0, le=255, description="Only pixels that differ from the blur by more than this are changed."
    )


def sharpen(inputs: list[Value], p: SharpenParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    im = src.image
    kernel = ImageFilter.UnsharpMask(radius=p.radius, percent=p.amount, threshold=p.threshold)
    if im.mode in ("LA", "RGBA"):
        *colour, alpha = im.split()
        sharpened = Image.merge(im.mode[:-1], colour).filter(kernel)
        out = Image.merge(im.mode, [*sharpened.split(), alpha])
    else:
        out = im.filter(kernel)
    return src.with_image(out)


register(
    Operation(
        name="sharpen",
        summary="Sharpen with an unsharp mask: radius, amount in percent and threshold.",
        params=SharpenParams,
        run=sharpen,
    )
)
