"""Inputs and outputs beyond the basics: HEIF, animation, colour management, GIF/TIFF, SVG refusal."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.decode import decode, probe
from pixmill.imaging.encode import encode
from pixmill.imaging.errors import ImageTooLarge, UnsupportedFormat
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def swapped_primaries_profile() -> bytes:
    """A tiny ICC v2 RGB profile whose red and green primaries are sRGB's green and red."""

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + _s15(x) + _s15(y) + _s15(z)

    text = b"swapped primaries test\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">I", 1) + struct.pack(">H", int(2.2 * 256)) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"gXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"none"
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0\0\0\0"
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def test_embedded_profile_is_converted_to_srgb() -> None:
    icc = swapped_primaries_profile()
    ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))  # lcms accepts it
    data = images.encode(Image.new("RGB", (8, 8), (255, 0, 0)), "PNG", icc_profile=icc)
    value = decode(data, Limits())
    r, g, b = value.image.getpixel((4, 4))  # type: ignore[misc]
    assert g > 200 and r < 80, (r, g, b)  # "red" in that space is sRGB green
    assert value.icc_profile is None


def test_srgb_profile_is_kept_as_is() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = images.encode(Image.new("RGB", (8, 8), (255, 0, 0)), "JPEG", icc_profile=srgb, quality=95)
    value = decode(data, Limits())
    assert value.icc_profile == srgb
    assert images.near(value.image.getpixel((4, 4)), (255, 0, 0), 10)
    out = encode(value, "jpeg")
    assert Image.open(io.BytesIO(out.data)).info.get("icc_profile") == srgb


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red ink mix
    value = decode(images.encode(cmyk, "JPEG", quality=95), Limits())
    assert value.image.mode == "RGB"
    assert images.near(value.image.getpixel((8, 8)), (255, 0, 0), 30)


def test_heif_from_phones_is_read() -> None:
    buf = io.BytesIO()
    images.quadrants(64, 48).save(buf, format="HEIF", quality=95)
    info = probe(buf.getvalue(), Limits())
    assert (info.format, info.width, info.height) == ("HEIF", 64, 48)
    p = parse_pipeline([{"op": "resize", "params": {"width": 32}}])
    (out,) = run_pipeline(p, buf.getvalue(), RunContext()).outputs
    assert isinstance(out.value, EncodedValue) and out.value.format == "JPEG"
    assert images.near(images.decode(out.value.data).getpixel((4, 4)), (255, 0, 0))


def _animation(frames: int = 4, fmt: str = "GIF") -> bytes:
    seq = [Image.new("RGB", (40, 30), (255 if i % 2 else 0, 0, 255 if i % 2 == 0 else 0)) for i in range(frames)]
    return images.encode(seq[0], fmt, save_all=True, append_images=seq[1:], duration=80, loop=0)


@pytest.mark.parametrize(("fmt", "out_format"), [("gif", "GIF"), ("webp", "WEBP")])
def test_animation_frames_are_kept_for_gif_and_webp_outputs(fmt: str, out_format: str) -> None:
    p = parse_pipeline([{"op": "resize", "params": {"width": 20}}, {"op": "convert", "params": {"format": fmt}}])
    (out,) = run_pipeline(p, _animation(4), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    im = Image.open(io.BytesIO(out.value.data))
    assert im.format == out_format and getattr(im, "n_frames", 1) == 4 and im.size == (20, 15)
    im.seek(1)
    assert images.near(im.convert("RGB").getpixel((10, 7)), (255, 0, 0), 30)


def test_animation_becomes_its_first_frame_for_still_formats() -> None:
    p = parse_pipeline([{"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, _animation(3), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    im = Image.open(io.BytesIO(out.value.data))
    assert getattr(im, "n_frames", 1) == 1
    assert images.near(im.convert("RGB").getpixel((5, 5)), (0, 0, 255), 10)


def test_animation_over_the_pixel_budget_is_refused() -> None:
    with pytest.raises(ImageTooLarge, match="frames"):
        probe(_animation(10), Limits(max_pixels=40 * 30 * 5))


def test_tiff_and_gif_outputs() -> None:
    value = decode(images.png(30, 20), Limits())
    for key, fmt in (("tiff", "TIFF"), ("gif", "GIF")):
        out = encode(value, key)
        im = images.decode(out.data)
        assert im.format == fmt and im.size == (30, 20)
        assert images.near(im.convert("RGB").getpixel((2, 2)), (255, 0, 0), 10)


def test_svg_is_refused_with_a_reason() -> None:
    for data in (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', b"<svg><script/></svg>"):
        with pytest.raises(UnsupportedFormat, match="SVG"):
            probe(data, Limits())


def test_exif_out_is_written_and_nothing_else() -> None:
    value = decode(images.jpeg_with_exif(orientation=6, make="Acme"), Limits())
    plain = Image.open(io.BytesIO(encode(value, "jpeg").data))
    assert dict(plain.getexif()) == {}
    value.exif_out = {0x8298: "(c) pixmill"}
    tagged = Image.open(io.BytesIO(encode(value, "jpeg").data)).getexif()
    assert tagged.get(0x8298) == "(c) pixmill" and 0x0112 not in tagged


def test_auto_orient_can_be_disabled() -> None:
    data = images.jpeg_with_exif(orientation=6, width=40, height=30)
    upright = run_pipeline(parse_pipeline([{"op": "convert", "params": {"format": "png"}}]), data, RunContext())
    raw = run_pipeline(
        parse_pipeline(
            {"nodes": [{"id": "p", "op": "convert", "params": {"format": "png"}, "output": "o"}], "auto_orient": False}
        ),
        data,
        RunContext(),
    )
    assert isinstance(upright.outputs[0].value, EncodedValue) and isinstance(raw.outputs[0].value, EncodedValue)
    assert (upright.outputs[0].value.width, raw.outputs[0].value.width) == (30, 40)
