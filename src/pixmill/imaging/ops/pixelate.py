"""pixelate: average blocks of block x block pixels (partial blocks at the edges too) and fill each with its mean."""

from __future__ import annotations

from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value

# Images with alpha are averaged premultiplied, so a transparent pixel's hidden colour does not count.
PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


class PixelateParams(Params):
    block: int = Field(ge=2, le=512, description="Side of the square blocks in pixels (2-512).")


def pixelate_image(im: Image.Image, block: int) -> Image.Image:
    """`im` with every block (from the top-left corner) filled with its mean colour; same size and mode."""
    work = im.convert(PREMULTIPLIED[im.mode]) if im.mode in PREMULTIPLIED else im
    small = work.reduce(block)  # box average; the last row and column of blocks average the pixels they have
    big = small.resize((small.width * block, small.height * block), Image.Resampling.NEAREST)
    out = big.crop((0, 0, im.width, im.height))
    return out.convert(im.mode) if out.mode != im.mode else out


def pixelate(inputs: list[Value], p: PixelateParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    return src.with_image(pixelate_image(src.image, p.block))


register(
    Operation(
        name="pixelate",
        summary="Pixelate: every block x block square becomes its average colour.",
        params=PixelateParams,
        run=pixelate,
    )
)
