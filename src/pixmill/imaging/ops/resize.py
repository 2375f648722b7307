"""resize: fit inside a box, fill (cover and crop) or stretch to exact dimensions.

fill crops what overflows the box at the centre, or where ``gravity`` says: a compass point, or ``faces`` /
``objects`` (centred on the box round every face, or every object, the models find, clamped inside the image;
the centre when none is found). Those two run a model, so a resize with them goes to the ``ml`` queue.
"""

from __future__ import annotations

import math
from typing import Literal

from PIL import Image
from pydantic import Field, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.detection import place, subject
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.param_types import GRAVITY_ANCHOR, Gravity
from pixmill.imaging.values import ImageValue, Value

ResizeGravity = Literal[Gravity, "faces", "objects"]


class ResizeParams(Params):
    width: int | None = Field(default=None, ge=1, le=30_000, description="Target width in pixels.")
    height: int | None = Field(default=None, ge=1, le=30_000, description="Target height in pixels.")
    fit: Literal["fit", "fill", "exact"] = Field(
        default="fit",
        description="fit: inside the box, aspect kept; fill: cover the box and crop the centre; "
        "exact: stretch to the box.",
    )
    upscale: bool = Field(default=False, description="Allow making the image larger than the source.")
    gravity: ResizeGravity | None = Field(
        default=None,
        description="With fit 'fill': which part to keep, a compass point (default 'centre'), or 'faces' / "
        "'objects' (centred on every face, or object, the models find).",
    )

    @model_validator(mode="after")
    def _needs_a_side(self) -> ResizeParams:
        if self.width is None and self.height is None:
            raise ValueError("give width, height or both")
        if self.fit != "fit" and (self.width is None or self.height is None):
            raise ValueError(f"fit={self.fit} needs both width and height")
        if self.gravity is not None and self.fit != "fill":
            raise ValueError("gravity applies only with fit='fill' (the part of the image that is kept)")
        return self


def target_size(p: ResizeParams, src_w: int, src_h: int) -> tuple[int, int]:
    """The output size for a source of src_w x src_h."""
    box_w = p.width or src_w * 10**6
    box_h = p.height or src_h * 10**6
    if p.fit == "exact":
        w, h = box_w, box_h
        if not p.upscale:
            w, h = min(w, src_w), min(h, src_h)
        return w, h
    scale_fit = min(box_w / src_w, box_h / src_h)
    if p.fit == "fill":
        scale = max(box_w / src_w, box_h / src_h)
        if not p.upscale and scale > 1:
            return min(box_w, src_w), min(box_h, src_h)
        return box_w, box_h
    scale = scale_fit if p.upscale else min(scale_fit, 1.0)
    return max(1, _round(src_w * scale)), max(1, _round(src_h * scale))


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _needs_size(p: ResizeParams, src_w: int, src_h: int) -> tuple[int, int]:
    w, h = target_size(p, src_w, src_h)
    if p.fit == "fill":
        scale = max(w / src_w, h / src_h)
        return max(1, _round(src_w * scale)), max(1, _round(src_h * scale))
    return w, h


def _fill_offset(p: ResizeParams, im: Image.Image, window: tuple[float, float], ctx: RunContext) -> tuple[float, float]:
    """Top-left of the part of `im` (window wide and high, in its pixels) that fill keeps."""
    spare_w, spare_h = im.width - window[0], im.height - window[1]
    if p.gravity in ("faces", "objects"):
        found = subject(im, p.gravity, ctx)
        if found is not None:
            return place(window[0], im.width, found[0], found[2]), place(window[1], im.height, found[1], found[3])
    elif p.gravity is not None and p.gravity != "centre":
        fx, fy = GRAVITY_ANCHOR[p.gravity]
        return spare_w * fx, spare_h * fy
    return spare_w / 2, spare_h / 2


def resize(inputs: list[Value], p: ResizeParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    im = src.image
    w, h = target_size(p, *src.full_size)
    check_output_size((w, h), ctx.limits, "params.upscale" if p.upscale else "params")
    if p.fit == "fill":
        scale = max(w / im.width, h / im.height)
        left, top = _fill_offset(p, im, (w / scale, h / scale), ctx)
        box = (left, top, left + w / scale, top + h / scale)
        out = im.resize((w, h), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    elif (w, h) == im.size:
        out = im
    else:
        out = im.resize((w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return ImageValue(out, src.source_format, src.icc_profile, src.exif)  # scale 1: sizes are real again


register(
    Operation(
        name="resize",
        summary="Resize to fit a box, fill it (cover and crop at a gravity: centre, compass, faces or objects) "
        "or stretch to it.",
        params=ResizeParams,
        run=resize,
        needs_size=_needs_size,
        queue_of=lambda p: "ml" if p.gravity in ("faces", "objects") else "standard",
    )
)
