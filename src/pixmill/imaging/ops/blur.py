"""blur: Gaussian blur; transparent pixels do not bleed their hidden colour into the visible ones."""

from __future__ import annotations

from PIL import Image, ImageFilter
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value

# Images with alpha are blurred premultiplied, so colour is weighted by how opaque it is.
PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


class BlurParams(Params):
    sigma: float = Field(ge=0.1, le=250, description="Standard deviation of the Gaussian in pixels (0.1-250).")


def gaussian_blur(im: Image.Image, sigma: float) -> Image.Image:
    """`im` blurred with a Gaussian of standard deviation `sigma`, in the same mode."""
    kernel = ImageFilter.GaussianBlur(sigma)
    if im.mode in PREMULTIPLIED:
        return im.convert(PREMULTIPLIED[im.mode]).filter(kernel).convert(im.mode)
    return im.filter(kernel)


def blur(inputs: list[Value], p: BlurParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    return src.with_image(gaussian_blur(src.image, p.sigma))


register(
    Operation(
        name="blur",
        summary="Gaussian blur with a standard deviation of sigma pixels.",
        params=BlurParams,
        run=blur,
    )
)
