"""resize: fit inside a box, fill (cover and centre-crop) or stretch to exact dimensions."""

from __future__ import annotations

import math
from typing import Literal

from PIL import Image
from pydantic import Field, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value


class ResizeParams(Params):
    width: int | None = Field(default=None, ge=1, le=30_000, description="Target width in pixels.")
    height: int | None = Field(default=None, ge=1, le=30_000, description="Target height in pixels.")
    fit: Literal["fit", "fill", "exact"] = Field(
        default="fit",
        description="fit: inside the box, aspect kept; fill: cover the box and crop the centre; "
        "exact: stretch to the box.",
    )
    upscale: bool = Field(default=False, description="Allow making the image larger than the source.")

    @model_validator(mode="after")
    def _needs_a_side(self) -> ResizeParams:
        if self.width is None and self.height is None:
            raise ValueError("give width, height or both")
        if self.fit != "fit" and (self.width is None or self.height is None):
            raise ValueError(f"fit={self.fit} needs both width and height")
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


def resize(inputs: list[Value], p: ResizeParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    im = src.image
    w, h = target_size(p, *src.full_size)
    if p.fit == "fill":
        scale = max(w / im.width, h / im.height)
        left, top = (im.width - w / scale) / 2, (im.height - h / scale) / 2
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
        summary="Resize to fit a box, fill it (cover and crop the centre) or stretch to it.",
        params=ResizeParams,
        run=resize,
        needs_size=_needs_size,
    )
)
