"""Encode an image to an output format, deterministically."""

from __future__ import annotations

import io

from PIL import Image

from pixmill.imaging.formats import OUTPUT_FORMATS, OutputFormat
from pixmill.imaging.values import EncodedValue, ImageValue

_BACKGROUND = (255, 255, 255)


def flatten(im: Image.Image, background: tuple[int, int, int] = _BACKGROUND) -> Image.Image:
    """Composite an image with alpha onto an opaque background."""
    if im.mode == "LA":
        im = im.convert("RGBA")
    if im.mode != "RGBA":
        return im
    base = Image.new("RGB", im.size, background)
    base.paste(im, mask=im.getchannel("A"))
    return base


def encode(
    value: ImageValue,
    format_key: str,
    *,
    quality: int | None = None,
    compress_level: int | None = None,
    lossless: bool = False,
    speed: int | None = None,
    keep_icc: bool = True,
) -> EncodedValue:
    """Encode to `format_key` (jpeg, png, webp, avif); EXIF is dropped since orientation is applied."""
    fmt: OutputFormat = OUTPUT_FORMATS[format_key]
    im = value.image
    if not fmt.has_alpha:
        im = flatten(im)
    options: dict[str, object] = {}
    if keep_icc and value.icc_profile:
        options["icc_profile"] = value.icc_profile
    if fmt.name == "JPEG":
        options.update(quality=quality or 85, optimize=True, progressive=True, subsampling="4:2:0")
    elif fmt.name == "PNG":
        options.update(compress_level=6 if compress_level is None else compress_level)
    elif fmt.name == "WEBP":
        options.update(quality=quality or 80, lossless=lossless, method=4, exact=False)
    elif fmt.name == "AVIF":
        options.update(quality=quality or 60, speed=6 if speed is None else speed)
    buf = io.BytesIO()
    im.save(buf, format=fmt.name, **options)
    return EncodedValue(
        data=buf.getvalue(),
        format=fmt.name,
        media_type=fmt.media_type,
        extension=fmt.extension,
        width=im.width,
        height=im.height,
    )
