from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.decode import decode
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import Limits
from pixmill.imaging.ops.strip import StripParams, strip
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue, ImageValue
from tests import images

COPYRIGHT, ARTIST, MAKE = 0x8298, 0x013B, 0x010F


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(**tags: str) -> bytes:
    exif = Image.Exif()
    for tag, value in ((COPYRIGHT, tags.get("copyright")), (ARTIST, tags.get("artist")), (MAKE, "Acme")):
        if value is not None:
            exif[tag] = value
    return exif.tobytes()


def _photo(**tags: str) -> bytes:
    return images.encode(images.quadrants(), "JPEG", quality=90, icc_profile=_icc(), exif=_exif(**tags))


def _strip(data: bytes, **params: bool) -> ImageValue:
    out = strip([decode(data, Limits())], StripParams(**params), RunContext())
    assert isinstance(out, ImageValue)
    return out


def _run(data: bytes, params: dict, fmt: str = "jpeg") -> Image.Image:
    p = parse_pipeline([{"op": "strip", "params": params}, {"op": "convert", "params": {"format": fmt}}])
    (out,) = run_pipeline(p, data, RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return Image.open(io.BytesIO(out.value.data))


def test_defaults_keep_the_icc_profile_and_write_no_exif() -> None:
    value = _strip(_photo(copyright="(c) Ann", artist="Ann"))
    assert value.icc_profile == _icc()
    assert value.exif_out == {}
    assert value.exif["Copyright"] == "(c) Ann"  # the source's EXIF can still be read downstream
    out = _run(_photo(copyright="(c) Ann", artist="Ann"), {})
    assert out.info.get("icc_profile") == _icc()
    assert dict(out.getexif()) == {}


def test_keep_icc_false_drops_the_profile() -> None:
    assert _strip(_photo(), keep_icc=False).icc_profile is None
    for fmt in ("jpeg", "png", "webp", "avif"):
        assert not _run(_photo(), {"keep_icc": False}, fmt).info.get("icc_profile"), fmt


def test_keep_copyright_writes_only_copyright_and_artist() -> None:
    value = _strip(_photo(copyright="(c) 2024 Ann", artist="Ann Example"), keep_copyright=True)
    assert value.exif_out == {COPYRIGHT: "(c) 2024 Ann", ARTIST: "Ann Example"}
    for fmt in ("jpeg", "webp", "png"):
        exif = _run(_photo(copyright="(c) 2024 Ann", artist="Ann Example"), {"keep_copyright": True}, fmt).getexif()
        assert exif.get(COPYRIGHT) == "(c) 2024 Ann", fmt
        assert exif.get(ARTIST) == "Ann Example", fmt
        assert MAKE not in exif, fmt


def test_keep_copyright_with_only_one_tag_or_none() -> None:
    assert _strip(_photo(artist="Ann"), keep_copyright=True).exif_out == {ARTIST: "Ann"}
    assert _strip(_photo(), keep_copyright=True).exif_out == {}
    assert dict(_run(_photo(), {"keep_copyright": True}).getexif()) == {}


def test_an_animation_keeps_its_frames_and_gets_the_same_metadata() -> None:
    frames = [Image.new("RGB", (40, 30), c) for c in ("red", "blue", "lime")]
    data = images.encode(
        frames[0],
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        exif=_exif(copyright="(c) Ann"),
        icc_profile=_icc(),
    )
    out = _run(data, {"keep_icc": False, "keep_copyright": True}, "webp")
    assert getattr(out, "n_frames", 1) == 3
    assert out.getexif().get(COPYRIGHT) == "(c) Ann"
    assert not out.info.get("icc_profile")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"keep_icc": "maybe"}, "params.keep_icc"), ({"keep_exif": True}, "params.keep_exif")],
)
def test_invalid_params_are_refused(params: dict, field: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "strip", "params": params}])
    assert err.value.errors[0]["field"] == field
