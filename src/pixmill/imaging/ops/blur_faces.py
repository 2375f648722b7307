"""blur_faces: hide every face the face model finds, pixelated (the default) or blurred.

Each face's box is grown by `padding` (a fraction of its width on the left and right, of its height above and
below) and clipped to the image. `strength` is the size of the pixel blocks, or the Gaussian's sigma, as a
fraction of the grown box's longer side. Only colour changes: the alpha channel is kept as it is. An image in
which no face is found comes back unchanged.
"""

from __future__ import annotations

import math
from typing import Literal

from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.detection import find
from pixmill.imaging.ops.blur import gaussian_blur
from pixmill.imaging.ops.pixelate import pixelate_image
from pixmill.imaging.values import ImageValue, Value
from pixmill.ml.boxes import Detection


class BlurFacesParams(Params):
    method: Literal["pixelate", "blur"] = Field(
        default="pixelate", description="pixelate: big square blocks; blur: a Gaussian blur."
    )
    strength: float = Field(
        default=0.1,
        ge=0.02,
        le=1.0,
        description="Block size (pixelate) or sigma (blur) as a fraction of the face box's longer side (0.02-1).",
    )
    padding: float = Field(
        default=0.15, ge=0.0, le=1.0, description="Grow each face box by this fraction of its size on every side."
    )
    min_score: float = Field(default=0.5, ge=0.0, le=1.0, description="Hide faces scoring at least this (0-1).")


def grown(d: Detection, padding: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The face's box (left, top, right, bottom) grown by `padding` on every side, in whole pixels, clipped."""
    dx, dy = d.width * padding, d.height * padding
    return (
        max(0, math.floor(d.x - dx)),
        max(0, math.floor(d.y - dy)),
        min(size[0], math.ceil(d.x + d.width + dx)),
        min(size[1], math.ceil(d.y + d.height + dy)),
    )


def _hidden(im: Image.Image, box: tuple[int, int, int, int], p: BlurFacesParams) -> Image.Image:
    """The region `box` of `im`, pixelated or blurred."""
    side = max(box[2] - box[0], box[3] - box[1])
    if p.method == "pixelate":
        return pixelate_image(im.crop(box), max(2, round(side * p.strength)))
    sigma = max(1.0, side * p.strength)
    # Blur with a margin round the box, so its edges average real neighbours rather than repeated ones.
    margin = math.ceil(3 * sigma)
    outer = (
        max(0, box[0] - margin),
        max(0, box[1] - margin),
        min(im.width, box[2] + margin),
        min(im.height, box[3] + margin),
    )
    blurred = gaussian_blur(im.crop(outer), sigma)
    inner = (box[0] - outer[0], box[1] - outer[1], box[2] - outer[0], box[3] - outer[1])
    return blurred.crop(inner)


def hide_faces(im: Image.Image, faces: list[Detection], p: BlurFacesParams) -> Image.Image:
    """A copy of `im` with each face's grown box pixelated or blurred; alpha untouched."""
    out = im.copy()
    for face in faces:
        box = grown(face, p.padding, im.size)
        region = _hidden(out, box, p)
        if im.mode in ("LA", "RGBA"):  # new colour, the old alpha
            region = Image.merge(im.mode, [*region.split()[:-1], out.crop(box).getchannel("A")])
        out.paste(region, box[:2])
    return out


def blur_faces(inputs: list[Value], p: BlurFacesParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    faces = find(src.image, ctx, "faces", p.min_score)
    if not faces:
        return src
    return src.with_image(hide_faces(src.image, faces, p))


register(
    Operation(
        name="blur_faces",
        summary="Hide faces: pixelate (or blur) each face the face model finds, box grown by padding.",
        params=BlurFacesParams,
        run=blur_faces,
        queue="ml",
    )
)
