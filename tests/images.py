"""Test images made on the fly: nothing binary is checked in."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def encode(im: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def quadrants(width: int = 400, height: int = 300) -> Image.Image:
    """Four solid quadrants: red top-left, green top-right, blue bottom-left, white bottom-right."""
    im = Image.new("RGB", (width, height))
    w, h = width // 2, height // 2
    im.paste((255, 0, 0), (0, 0, w, h))
    im.paste((0, 255, 0), (w, 0, width, h))
    im.paste((0, 0, 255), (0, h, w, height))
    im.paste((255, 255, 255), (w, h, width, height))
    return im


def jpeg(width: int = 400, height: int = 300, quality: int = 92, **options: object) -> bytes:
    return encode(quadrants(width, height), "JPEG", quality=quality, **options)


def png(width: int = 400, height: int = 300) -> bytes:
    return encode(quadrants(width, height), "PNG")


def jpeg_with_exif(orientation: int = 1, make: str = "pixmill-test", width: int = 400, height: int = 300) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = make
    return encode(quadrants(width, height), "JPEG", quality=92, exif=exif.tobytes())


def png_bomb(width: int = 16384, height: int = 16384) -> bytes:
    """A tiny PNG whose header declares a huge image (its data stream is a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


def decode(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def near(pixel: object, expected: tuple[int, ...], tolerance: int = 40) -> bool:
    """True when `pixel` (a getpixel() result) is within `tolerance` of `expected` on every channel."""
    assert isinstance(pixel, tuple), pixel
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Deterministic RGB noise: compresses badly, so files are large."""
    import random

    return Image.frombytes("RGB", (width, height), random.Random(seed).randbytes(width * height * 3))


def camera_jpeg(width: int = 400, height: int = 300) -> bytes:
    """A JPEG with a camera's EXIF: make and model in the base IFD, lens, time, exposure, aperture and ISO in the
    Exif IFD, a position in the GPS IFD (where cameras write them)."""
    from PIL.TiffImagePlugin import IFDRational

    exif = Image.Exif()
    exif[0x010F] = "Fujifilm "
    exif[0x0110] = "X-T5"
    sub = exif.get_ifd(0x8769)
    sub[0xA434] = "XF23mmF1.4 R LM WR"
    sub[0x9003] = "2026:05:04 10:11:12"
    sub[0x829A] = IFDRational(1, 250)
    sub[0x829D] = IFDRational(28, 10)
    sub[0x8827] = 400
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(52, 1), IFDRational(30, 1), IFDRational(36, 1))
    gps[3], gps[4] = "W", (IFDRational(1, 1), IFDRational(15, 1), IFDRational(0, 1))
    return encode(quadrants(width, height), "JPEG", quality=92, exif=exif.tobytes())
