"""Sniff, check limits and decode: nothing is fully decoded before its header has passed the limits."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

import pillow_heif
from PIL import ExifTags, Image, ImageCms, TiffImagePlugin

from pixmill.imaging.errors import CorruptImage, ImageTooLarge, ImagingError, UnsupportedFormat
from pixmill.imaging.formats import READABLE
from pixmill.imaging.limits import Limits
from pixmill.imaging.values import ImageValue

log = logging.getLogger("pixmill.imaging")

# pixmill checks the pixel count itself, against its own limit, before any decode.
Image.MAX_IMAGE_PIXELS = None
pillow_heif.register_heif_opener()

# What Pillow and its plugins raise on bad bytes. The AVIF and HEIF decoders raise RuntimeError ("Failed to
# decode frame 0: Decoding of color planes failed"); the last resort, _decoder_failure, covers the rest.
_DECODE_ERRORS = (
    RuntimeError,
    struct.error,
    zlib.error,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    TypeError,
    KeyError,
    Image.DecompressionBombError,
    ImageCms.PyCMSError,
)
_SWAPS_AXES = {5, 6, 7, 8}
_ANIMATED_INPUTS = {"GIF", "WEBP", "PNG", "AVIF"}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class ImageInfo:
    """What the header says, with width and height as displayed (EXIF orientation applied)."""

    format: str
    width: int
    height: int
    mode: str
    frames: int
    orientation: int


_HEAD = 4096  # bytes read to refuse documents (SVG) before any image parser sees the file


def _check_head(size: int, head: bytes, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise ImageTooLarge(f"file is {size} bytes; the limit is {limits.max_bytes}")
    if not size:
        raise UnsupportedFormat("the file is empty")
    if head.lstrip()[:5].lower() in (b"<?xml", b"<svg ", b"<svg>") or b"<svg" in head[:512].lower():
        raise UnsupportedFormat("SVG is not accepted: it is a document, not an image; rasterise it first")


def _open(data: bytes, limits: Limits) -> tuple[Image.Image, ImageInfo]:
    _check_head(len(data), data[:_HEAD], limits)
    return _open_source(io.BytesIO(data), limits)


def _open_source(source: BinaryIO, limits: Limits) -> tuple[Image.Image, ImageInfo]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(source, formats=READABLE)
    except Image.UnidentifiedImageError:
        raise UnsupportedFormat(
            "the file is not an image in a supported format (" + ", ".join(READABLE) + ")"
        ) from None
    except Exception as exc:
        raise _decoder_failure(exc, "the image cannot be decoded: its header cannot be read") from None
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
    except Exception as exc:
        raise _decoder_failure(exc, "the image cannot be decoded: its frames cannot be read") from None
    if frames > limits.max_frames:
        raise ImageTooLarge(f"the image has {frames} frames; the limit is {limits.max_frames}")
    if frames > 1 and im.format in _ANIMATED_INPUTS and frames * width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"the animation has {frames} frames of {width}x{height}; together they exceed {limits.max_pixels} pixels"
        )
    try:
        orientation = int(im.getexif().get(ExifTags.Base.Orientation, 1) or 1)
    except _DECODE_ERRORS:
        orientation = 1
    if orientation not in range(1, 9):
        orientation = 1
    if orientation in _SWAPS_AXES:
        width, height = height, width
    return im, ImageInfo(str(im.format), width, height, im.mode, frames, orientation)


def probe(data: bytes, limits: Limits) -> ImageInfo:
    """Read the header only: format, displayed size, frames. Raises if a limit is exceeded."""
    im, info = _open(data, limits)
    im.close()
    return info


class _KeepOpen(io.RawIOBase):
    """A read-only view of a file that Pillow may close without closing the file itself."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._fh.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()


def probe_file(fh: BinaryIO, limits: Limits) -> ImageInfo:
    """`probe` for a seekable file, read in place (an upload spooled to disk is never loaded whole);
    the file is left at its start."""
    size = fh.seek(0, io.SEEK_END)
    fh.seek(0)
    head = fh.read(_HEAD)
    fh.seek(0)
    _check_head(size, head, limits)
    try:
        im, info = _open_source(io.BufferedReader(_KeepOpen(fh)), limits)
        im.close()
    finally:
        fh.seek(0)
    return info


SizeHint = Callable[[ImageInfo], tuple[int, int] | None]


def decode(data: bytes, limits: Limits, size_hint: SizeHint | None = None, auto_orient: bool = True) -> ImageValue:
    """Decode upright (EXIF orientation applied) in sRGB, mode L, LA, RGB or RGBA; animations keep every frame.

    size_hint: given the header, the smallest displayed size the pipeline needs; JPEGs are then
    decoded at a reduced scale that still covers it (shrink on load).
    """
    im, info = _open(data, limits)
    orientation = info.orientation if auto_orient else 1
    try:
        hint = size_hint(info) if size_hint else None
        if hint and info.format == "JPEG":
            hint_w, hint_h = hint
            if info.orientation in _SWAPS_AXES:
                hint_w, hint_h = hint_h, hint_w
            im.draft(im.mode if im.mode in ("L", "RGB", "CMYK") else "RGB", (hint_w, hint_h))
        im.load()
        icc = im.info.get("icc_profile") or None
        exif = exif_dict(im)
        frames: list[Image.Image] | None = None
        durations: list[int] | None = None
        loop = int(im.info.get("loop", 0) or 0)
        if info.frames > 1 and info.format in _ANIMATED_INPUTS:
            frames, durations = [], []
            for index in range(info.frames):
                im.seek(index)
                frame = im.convert("RGBA")  # composited frame; palette and disposal resolved
                frames.append(_upright(frame, orientation))
                durations.append(int(im.info.get("duration", 100) or 100))
            first = frames[0]
            if icc is not None and readable_profile(icc) is None:
                icc = None  # never carried into the outputs
        else:
            first, icc = _to_srgb(_upright(im, orientation), icc)
            first = _normalise_mode(first)
    except Exception as exc:
        raise _decoder_failure(exc, "the image cannot be decoded (truncated or damaged)") from None
    shrunk_from = (info.width, info.height) if first.size != (info.width, info.height) else None
    return ImageValue(
        image=first,
        source_format=info.format,
        icc_profile=icc,
        exif=exif,
        shrunk_from=shrunk_from,
        frames=frames,
        durations=durations,
        loop=loop,
    )


def _decoder_failure(exc: Exception, message: str) -> Exception:
    """The CorruptImage to raise for an exception of the decoder: every failure on the file's bytes says it
    cannot be decoded, whatever a plugin raised. A MemoryError, or an error of pixmill's own, goes on as it is."""
    if isinstance(exc, MemoryError | ImagingError):
        return exc
    if not isinstance(exc, _DECODE_ERRORS):
        log.warning("unexpected decoder error", extra={"error": repr(exc)})
    detail = str(exc) or type(exc).__name__
    return CorruptImage(f"{message}: {detail}")


def readable_profile(icc: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The ICC profile `icc` describes, or None when there is none or it cannot be read (it is then dropped,
    with a warning: the pixels decode the same without it, read as sRGB, as browsers do)."""
    if not icc:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except Exception as exc:  # LittleCMS answers OSError ("cannot open profile from string"), PyCMSError …
        log.warning(
            "dropping an unreadable ICC colour profile; the pixels are read as sRGB",
            extra={"icc_bytes": len(icc), "error": str(exc) or type(exc).__name__},
        )
        return None


def _upright(im: Image.Image, orientation: int) -> Image.Image:
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation)
    return im.transpose(method) if method is not None else im


def _to_srgb(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """Convert pixels with an embedded non-sRGB profile (Adobe RGB, Display P3, CMYK …) to sRGB.

    Returns the image and the profile the output should carry: the original when it is sRGB, else none.
    """
    profile = readable_profile(icc)
    if profile is None:
        return im, None
    try:
        description = ImageCms.getProfileDescription(profile) or ""
    except Exception:
        description = ""
    if "srgb" in description.lower().replace(" ", ""):
        return im, icc
    if im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im, None
    alpha = im.getchannel("A") if im.mode == "RGBA" else None
    source = im.convert("RGB") if im.mode == "RGBA" else im
    out_mode = "L" if im.mode == "L" else "RGB"
    try:
        converted = ImageCms.profileToProfile(source, profile, _SRGB, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        log.warning("ICC conversion failed; keeping the pixels as they are", extra={"profile": description})
        return im, None
    assert converted is not None
    if alpha is not None:
        converted.putalpha(alpha)
    return converted, None


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
