"""Sniff, check limits and decode: nothing is fully decoded before its header has passed the limits."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import ExifTags, Image, ImageOps, TiffImagePlugin

from pixmill.imaging.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from pixmill.imaging.formats import READABLE
from pixmill.imaging.limits import Limits
from pixmill.imaging.values import ImageValue

# pixmill checks the pixel count itself, against its own limit, before any decode.
Image.MAX_IMAGE_PIXELS = None

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, Image.DecompressionBombError)
_SWAPS_AXES = {5, 6, 7, 8}


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, with width and height as displayed (EXIF orientation applied)."""

    format: str
    width: int
    height: int
    mode: str
    frames: int
    orientation: int


def _open(data: bytes, limits: Limits) -> tuple[Image.Image, ImageInfo]:
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"file is {len(data)} bytes; the limit is {limits.max_bytes}")
    if not data:
        raise UnsupportedFormat("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data), formats=READABLE)
    except Image.UnidentifiedImageError:
        raise UnsupportedFormat(
            "the file is not an image in a supported format (" + ", ".join(READABLE) + ")"
        ) from None
    except _DECODE_ERRORS as exc:
        raise CorruptImage(f"the image header cannot be read: {exc}") from None
    width, height = im.size
    if width < 1 or height < 1:
        raise CorruptImage(f"the image declares an empty size {width}x{height}")
    if width > limits.max_dimension or height > limits.max_dimension:
        raise ImageTooLarge(f"the image is {width}x{height}; no side may exceed {limits.max_dimension} pixels")
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} = {width * height} pixels; the limit is {limits.max_pixels}"
        )
    try:
        frames = int(getattr(im, "n_frames", 1))
    except _DECODE_ERRORS as exc:
        raise CorruptImage(f"the image frames cannot be read: {exc}") from None
    if frames > limits.max_frames:
        raise ImageTooLarge(f"the image has {frames} frames; the limit is {limits.max_frames}")
    try:
        orientation = int(im.getexif().get(ExifTags.Base.Orientation, 1) or 1)
    except _DECODE_ERRORS:
        orientation = 1
    if orientation in _SWAPS_AXES:
        width, height = height, width
    fmt = str(im.format)
    return im, ImageInfo(fmt, width, height, im.mode, frames, orientation)


def probe(data: bytes, limits: Limits) -> ImageInfo:
    """Read the header only: format, displayed size, frames. Raises if a limit is exceeded."""
    im, info = _open(data, limits)
    im.close()
    return info


SizeHint = Callable[[ImageInfo], tuple[int, int] | None]


def decode(data: bytes, limits: Limits, size_hint: SizeHint | None = None) -> ImageValue:
    """Decode the first frame upright (EXIF orientation applied) in L, LA, RGB or RGBA.

    size_hint: given the header, the smallest displayed size the pipeline needs; JPEGs are then
    decoded at a reduced scale that still covers it (shrink on load).
    """
    im, info = _open(data, limits)
    try:
        hint = size_hint(info) if size_hint else None
        if hint and info.format == "JPEG":
            hint_w, hint_h = hint
            if info.orientation in _SWAPS_AXES:
                hint_w, hint_h = hint_h, hint_w
            im.draft(im.mode if im.mode in ("L", "RGB") else "RGB", (hint_w, hint_h))
        im.load()
        icc = im.info.get("icc_profile")
        exif = exif_dict(im)
        if info.orientation != 1:
            im = ImageOps.exif_transpose(im)
        im = _normalise_mode(im)
    except _DECODE_ERRORS as exc:
        raise CorruptImage(f"the image cannot be decoded (truncated or damaged): {exc}") from None
    shrunk_from = (info.width, info.height) if im.size != (info.width, info.height) else None
    return ImageValue(image=im, source_format=info.format, icc_profile=icc, exif=exif, shrunk_from=shrunk_from)


def _normalise_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if im.mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        return im.point(lambda v: v * (1 / 256)).convert("L")
    if im.mode == "1":
        return im.convert("L")
    if im.mode in ("PA", "RGBa", "La"):
        return im.convert("RGBA")
    return im.convert("RGB")


def _jsonable(value: Any) -> Any:
    if isinstance(value, TiffImagePlugin.IFDRational):
        return float(value) if value.denominator else None
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00")
        try:
            decoded = text.decode("ascii")
        except UnicodeDecodeError:
            return text[:64].hex()
        return decoded if decoded.isprintable() else text[:64].hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, int | float | str) or value is None:
        return value
    return str(value)


def exif_dict(im: Image.Image) -> dict[str, Any]:
    """EXIF as a flat dict of tag name → JSON value (base IFD, Exif IFD and GPS IFD)."""
    try:
        exif = im.getexif()
    except _DECODE_ERRORS:
        return {}
    out: dict[str, Any] = {}
    for tag, value in exif.items():
        if tag in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo):
            continue
        out[ExifTags.TAGS.get(tag, f"Tag{tag}")] = _jsonable(value)
    for ifd, names in ((ExifTags.IFD.Exif, ExifTags.TAGS), (ExifTags.IFD.GPSInfo, ExifTags.GPSTAGS)):
        try:
            sub = exif.get_ifd(ifd)
        except _DECODE_ERRORS:
            continue
        for tag, value in sub.items():
            key = names.get(tag, f"Tag{tag}")
            out[f"GPS{key}" if ifd == ExifTags.IFD.GPSInfo and not key.startswith("GPS") else key] = _jsonable(value)
    return out
