"""thumbnails: one image encoded at several widths in one step (srcset-style keys such as "320w")."""

from __future__ import annotations

from typing import Annotated, Literal

from PIL import Image
from pydantic import Field, field_validator, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.encode import encode
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.ops.resize import ResizeParams, target_size
from pixmill.imaging.values import BundleValue, EncodedValue, ImageValue, Value

ThumbFormat = Literal["jpeg", "webp", "avif", "png"]
Width = Annotated[int, Field(ge=1, le=30_000, description="A width in pixels.")]


class ThumbnailsParams(Params):
    sizes: list[Width] = Field(
        min_length=1,
        max_length=12,
        description="1-12 distinct widths in pixels (1-30000). Each gives an output keyed '<width>w' "
        "(e.g. 320w), the image resized to that width with its aspect kept; an image narrower than a width "
        "is not enlarged.",
    )
    format: ThumbFormat = Field(default="webp", description="jpeg, webp, avif or png (jpg is accepted).")
    quality: int | None = Field(default=None, ge=1, le=100, description="1-100, for jpeg, webp and avif.")

    @field_validator("sizes")
    @classmethod
    def _widths(cls, v: list[int]) -> list[int]:
        if len(set(v)) != len(v):
            raise ValueError("widths must be distinct")
        return v

    @field_validator("format", mode="before")
    @classmethod
    def _alias(cls, v: object) -> object:
        return "jpeg" if isinstance(v, str) and v.lower() == "jpg" else (v.lower() if isinstance(v, str) else v)

    @model_validator(mode="after")
    def _quality_fits_format(self) -> ThumbnailsParams:
        if self.quality is not None and self.format == "png":
            raise ValueError("quality does not apply to png (it is lossless)")
        return self


def key(width: int) -> str:
    """The bundle key (and output-name suffix) of one width."""
    return f"{width}w"


def _needs_size(p: ThumbnailsParams, src_w: int, src_h: int) -> tuple[int, int]:
    return target_size(ResizeParams(width=max(p.sizes)), src_w, src_h)


def thumbnails(inputs: list[Value], p: ThumbnailsParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    im = src.image
    items: dict[str, EncodedValue] = {}
    for width in p.sizes:  # each from the (possibly shrunk-on-load) source: one resampling per thumbnail
        ctx.check_deadline()
        size = target_size(ResizeParams(width=width), *src.full_size)
        check_output_size(size, ctx.limits, "params.sizes")
        out = im if size == im.size else im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        items[key(width)] = encode(src.with_image(out), p.format, quality=p.quality)
    return BundleValue(items)


register(
    Operation(
        name="thumbnails",
        summary="Resize to several widths (Lanczos, never enlarging) and encode each: outputs '<name>-<width>w'.",
        params=ThumbnailsParams,
        run=thumbnails,
        produces="bundle",
        needs_size=_needs_size,
    )
)
