"""convert: encode to JPEG, PNG, WEBP, AVIF, GIF or TIFF with the format's own settings, or to a byte budget."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.encode import encode
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.values import EncodedValue, ImageValue, Value

FormatName = Literal["jpeg", "png", "webp", "avif", "gif", "tiff"]

# Highest quality tried for a byte budget when no `quality` caps it.
MAX_BYTES_TOP_QUALITY = 95


class ConvertParams(Params):
    format: FormatName = Field(description="Output format: jpeg, png, webp, avif, gif or tiff (jpg is accepted).")
    quality: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="1-100, for jpeg, webp and avif; with max_bytes, the highest quality tried.",
    )
    compression: int | None = Field(default=None, ge=0, le=9, description="zlib level 0-9, for png.")
    lossless: bool = Field(default=False, description="Lossless WEBP.")
    speed: int | None = Field(default=None, ge=0, le=10, description="AVIF encoder speed 0 (slow) - 10.")
    progressive: bool = Field(default=False, description="Progressive JPEG (slower to encode, loads gradually).")
    max_bytes: int | None = Field(
        default=None,
        ge=100,
        description="Byte budget for jpeg, webp (lossy) and avif: the highest quality (at most `quality`, "
        f"else {MAX_BYTES_TOP_QUALITY}) whose file fits is used; the job fails if even quality 1 does not fit.",
    )

    @field_validator("format", mode="before")
    @classmethod
    def _alias(cls, v: object) -> object:
        return "jpeg" if isinstance(v, str) and v.lower() == "jpg" else (v.lower() if isinstance(v, str) else v)

    @model_validator(mode="after")
    def _options_fit_format(self) -> ConvertParams:
        if self.quality is not None and self.format in ("png", "gif", "tiff"):
            hint = "; use compression 0-9" if self.format == "png" else ""
            raise ValueError(f"quality does not apply to {self.format} (it is lossless){hint}")
        if self.compression is not None and self.format != "png":
            raise ValueError("compression applies to png only")
        if self.lossless and self.format != "webp":
            raise ValueError("lossless applies to webp only")
        if self.speed is not None and self.format != "avif":
            raise ValueError("speed applies to avif only")
        if self.progressive and self.format != "jpeg":
            raise ValueError("progressive applies to jpeg only")
        if self.max_bytes is not None and (self.format in ("png", "gif", "tiff") or self.lossless):
            raise ValueError("max_bytes applies to lossy formats only (jpeg, webp without lossless, avif)")
        return self


def _encode_at(src: ImageValue, p: ConvertParams, quality: int | None) -> EncodedValue:
    return encode(
        src,
        p.format,
        quality=quality,
        compress_level=p.compression,
        lossless=p.lossless,
        speed=p.speed,
        progressive=p.progressive,
    )


def _fit_budget(src: ImageValue, p: ConvertParams, budget: int, ctx: RunContext) -> EncodedValue:
    """The encoding at the highest quality q whose file fits `budget`, with q+1 (up to the top) not fitting.

    Binary search keeping `low` fitting and `high` not fitting, so the answer holds even where file size is
    not strictly monotonic in quality.
    """
    top = p.quality or MAX_BYTES_TOP_QUALITY
    best = _encode_at(src, p, top)
    if len(best.data) <= budget:
        return best
    if top == 1:
        smallest = best
    else:
        ctx.check_deadline()
        smallest = _encode_at(src, p, 1)
    if len(smallest.data) > budget:
        raise InvalidPipeline(
            f"max_bytes {budget} is too small: the smallest {p.format} file (quality 1) is {len(smallest.data)} bytes",
            [
                {
                    "node": None,
                    "field": "params.max_bytes",
                    "message": f"too small for this image: quality 1 gives {len(smallest.data)} bytes",
                }
            ],
        )
    low, high, best = 1, top, smallest
    while high - low > 1:
        ctx.check_deadline()
        mid = (low + high) // 2
        candidate = _encode_at(src, p, mid)
        if len(candidate.data) <= budget:
            low, best = mid, candidate
        else:
            high = mid
    return best


def convert(inputs: list[Value], p: ConvertParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    if p.max_bytes is not None:
        return _fit_budget(src, p, p.max_bytes, ctx)
    return _encode_at(src, p, p.quality)


register(
    Operation(
        name="convert",
        summary="Encode to JPEG (baseline or progressive), PNG, WEBP, AVIF, GIF or TIFF, optionally at the "
        "highest quality that fits a byte budget; alpha is flattened onto white where the format has none.",
        params=ConvertParams,
        run=convert,
        produces="encoded",
    )
)
