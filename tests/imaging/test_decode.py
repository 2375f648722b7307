from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

from pixmill.imaging.decode import decode, probe
from pixmill.imaging.encode import encode
from pixmill.imaging.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from pixmill.imaging.limits import Limits
from tests import images


def test_probe_reads_the_header_only_and_applies_orientation() -> None:
    info = probe(images.jpeg_with_exif(orientation=8, width=64, height=32), Limits())
    assert (info.format, info.width, info.height, info.orientation) == ("JPEG", 32, 64, 8)


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", UnsupportedFormat, "empty"),
        (b"hello world", UnsupportedFormat, "not an image"),
        (images.png_bomb(16384, 16384), ImageTooLarge, "pixels"),
        (images.png_bomb(40_000, 10), ImageTooLarge, "no side may exceed"),
    ],
)
def test_bad_inputs_raise_typed_errors(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        probe(data, Limits())


def test_file_size_limit() -> None:
    with pytest.raises(ImageTooLarge, match="bytes"):
        probe(images.jpeg(), Limits(max_bytes=100))


def test_frame_limit() -> None:
    frames = [Image.new("RGB", (8, 8), (i * 20, 0, 0)) for i in range(5)]
    data = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert probe(data, Limits()).frames == 5
    with pytest.raises(ImageTooLarge, match="frames"):
        probe(data, Limits(max_frames=4))


def test_truncated_files_raise_corrupt_image() -> None:
    for data in (images.jpeg(300, 200), images.png(300, 200)):
        with pytest.raises(CorruptImage):
            decode(data[: len(data) // 2], Limits())


def test_modes_are_normalised() -> None:
    for mode, expected in (("P", "RGB"), ("1", "L"), ("CMYK", "RGB"), ("I;16", "L"), ("LA", "LA")):
        im = Image.new(mode, (4, 4))
        fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
        value = decode(images.encode(im, fmt), Limits())
        assert value.image.mode == expected, mode


def test_shrink_on_load_decodes_a_jpeg_at_reduced_scale() -> None:
    value = decode(images.jpeg(1600, 1200), Limits(), size_hint=lambda info: (200, 150))
    assert value.image.size == (200, 150)
    assert value.full_size == (1600, 1200)


UNREADABLE_ICC = bytes(range(256)) * 4  # 1 KB that LittleCMS cannot open ("cannot open profile from string")


def _avif_with_zeroed_data() -> bytes:
    """An AVIF whose header is fine and whose coded pixels are zeros: the AVIF decoder raises RuntimeError."""
    data = bytearray(images.encode(Image.new("RGB", (64, 48), (200, 30, 30)), "AVIF"))
    start = data.index(b"mdat") + 4
    data[start:] = bytes(len(data) - start)
    return bytes(data)


def test_an_unreadable_icc_profile_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    data = images.encode(Image.new("RGB", (20, 10), (200, 10, 10)), "JPEG", icc_profile=UNREADABLE_ICC, quality=95)
    assert Image.open(io.BytesIO(data)).info["icc_profile"] == UNREADABLE_ICC
    with caplog.at_level(logging.WARNING, logger="pixmill.imaging"):
        value = decode(data, Limits())
    assert value.icc_profile is None and value.image.size == (20, 10)
    assert images.near(value.image.getpixel((5, 5)), (200, 10, 10))
    (record,) = [r for r in caplog.records if "ICC" in r.getMessage()]
    assert record.levelno == logging.WARNING and "dropping an unreadable ICC colour profile" in record.getMessage()
    out = encode(value, "jpeg")
    assert "icc_profile" not in Image.open(io.BytesIO(out.data)).info  # never carried into an output


def test_every_decoder_failure_says_cannot_be_decoded() -> None:
    avif = _avif_with_zeroed_data()
    assert probe(avif, Limits()).format == "AVIF"  # the header passes: the upload is taken
    with pytest.raises(CorruptImage, match="cannot be decoded"):
        decode(avif, Limits())
