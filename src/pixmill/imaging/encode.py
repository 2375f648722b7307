"""Encode an image to an output format, deterministically."""

from __future__ import annotations

import io

from PIL import Image

from pixmill.imaging.formats import ANIMATED_OUTPUTS, OUTPUT_FORMATS, OutputFormat
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


def _gif_frame(im: Image.Image) -> Image.Image:
    """A palette frame; fully transparent pixels map to a reserved transparent index."""
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        alpha = rgba.getchannel("A")
        frame = flatten(rgba).quantize(255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        frame.paste(255, mask=alpha.point(lambda a: 255 if a < 128 else 0))
        frame.info["transparency"] = 255
        return frame
    return im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def encode(
    value: ImageValue,
    format_key: str,
    *,
    quality: int | None = None,
    compress_level: int | None = None,
    lossless: bool = False,
    speed: int | None = None,
    progressive: bool = False,
    keep_icc: bool = True,
) -> EncodedValue:
    """Encode to `format_key` (a key of OUTPUT_FORMATS).

    EXIF is written only as `value.exif_out` says (orientation is already applied); GIF and WEBP keep
    every frame of an animation, other formats take the first.
    """
    fmt: OutputFormat = OUTPUT_FORMATS[format_key]
    im = value.image
    frames = value.frames if value.animated and fmt.name in ANIMATED_OUTPUTS else None
    if not fmt.has_alpha:
        im = flatten(im)
    options: dict[str, object] = {}
    if fmt.name != "GIF":  # explicit, even when None: some writers fall back to the image's own info
        options["icc_profile"] = value.icc_profile if keep_icc else None
    if value.exif_out and fmt.name != "GIF":
        exif = Image.Exif()
        for tag, tag_value in value.exif_out.items():
            exif[tag] = tag_value
        options["exif"] = exif.tobytes()
    if fmt.name == "JPEG":
        # Baseline by default: progressive encoding costs ~6x the encode time of an 800 px image.
        options.update(quality=quality or 85, progressive=progressive, subsampling="4:2:0")
    elif fmt.name == "PNG":
        options.update(compress_level=6 if compress_level is None else compress_level)
    elif fmt.name == "WEBP":
        options.update(quality=quality or 80, lossless=lossless, method=4, exact=False)
    elif fmt.name == "AVIF":
        options.update(quality=quality or 60, speed=6 if speed is None else speed)
    elif fmt.name == "TIFF":
        options.update(compression="tiff_deflate")
    elif fmt.name == "GIF":
        options.update(optimize=False)
    if frames:
        sequence = [_gif_frame(f) for f in frames] if fmt.name == "GIF" else frames
        im = sequence[0]
        options.update(save_all=True, append_images=sequence[1:], duration=value.durations, loop=value.loop)
        if fmt.name == "GIF":
            options.update(disposal=2)
    elif fmt.name == "GIF":
        im = _gif_frame(im)
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
