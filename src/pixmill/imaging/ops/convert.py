"""convert: encode to JPEG, PNG, WEBP or AVIF with the format's own quality settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.encode import encode
from pixmill.imaging.values import ImageValue, Value

FormatName = Literal["jpeg", "png", "webp", "avif"]


class ConvertParams(Params):
    format: FormatName = Field(description="Output format: jpeg, png, webp or avif (jpg is accepted).")
    quality: int | None = Field(default=None, ge=1, le=100, description="1-100, for jpeg, webp and avif.")
    compression: int | None = Field(default=None, ge=0, le=9, description="zlib level 0-9, for png.")
    lossless: bool = Field(default=False, description="Lossless WEBP.")
    speed: int | None = Field(default=None, ge=0, le=10, description="AVIF encoder speed 0 (slow) - 10.")

    @field_validator("format", mode="before")
    @classmethod
    def _alias(cls, v: object) -> object:
        return "jpeg" if isinstance(v, str) and v.lower() == "jpg" else (v.lower() if isinstance(v, str) else v)

    @model_validator(mode="after")
    def _options_fit_format(self) -> ConvertParams:
        if self.quality is not None and self.format == "png":
            raise ValueError("quality does not apply to png (it is lossless); use compression 0-9")
        if self.compression is not None and self.format != "png":
            raise ValueError("compression applies to png only")
        if self.lossless and self.format != "webp":
            raise ValueError("lossless applies to webp only")
        if self.speed is not None and self.format != "avif":
            raise ValueError("speed applies to avif only")
        return self


def convert(inputs: list[Value], p: ConvertParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    return encode(src, p.format, quality=p.quality, compress_level=p.compression, lossless=p.lossless, speed=p.speed)


register(
    Operation(
        name="convert",
        summary="Encode to JPEG, PNG, WEBP or AVIF.",
        params=ConvertParams,
        run=convert,
        produces="encoded",
    )
)
