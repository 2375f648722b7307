"""strip: choose the metadata outputs carry: the ICC profile, and the source's copyright and artist tags.

Outputs carry no EXIF by default (orientation is applied when decoding), so strip matters for the ICC
profile (dropped with keep_icc=false) and for keeping copyright (keep_copyright=true writes the source's
Copyright and Artist tags into the outputs).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import ImageValue, Value

# EXIF tags kept by keep_copyright: tag id -> the name the decoder reads them under.
COPYRIGHT_TAGS: dict[int, str] = {0x8298: "Copyright", 0x013B: "Artist"}


class StripParams(Params):
    keep_icc: bool = Field(default=True, description="Keep the ICC colour profile (false: outputs carry none).")
    keep_copyright: bool = Field(
        default=False,
        description="Write the source's Copyright and Artist EXIF tags into the outputs (false: no EXIF at all).",
    )


def copyright_tags(exif: dict[str, Any]) -> dict[int, Any]:
    """The Copyright and Artist tags of a source's EXIF (by name), by tag id; absent or empty ones left out."""
    out: dict[int, Any] = {}
    for tag, name in COPYRIGHT_TAGS.items():
        value = exif.get(name)
        if isinstance(value, str) and value.strip("\x00 "):
            out[tag] = value
    return out


def _without_profile(im: Image.Image) -> Image.Image:
    """`im` without the decoder's ICC profile in its info (some Pillow encoders fall back to it)."""
    if "icc_profile" not in im.info:
        return im
    out = im.copy()
    out.info.pop("icc_profile", None)
    return out


def strip(inputs: list[Value], p: StripParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    exif_out: dict[int, Any] = {}
    if p.keep_copyright:  # the source's tags, or ones an earlier step already set for the outputs
        exif_out = copyright_tags(src.exif) | {k: v for k, v in src.exif_out.items() if k in COPYRIGHT_TAGS}
    if p.keep_icc:
        return replace(src, exif_out=exif_out)
    frames = [_without_profile(f) for f in src.frames] if src.frames is not None else None
    image = frames[0] if frames else _without_profile(src.image)
    return replace(src, image=image, frames=frames, icc_profile=None, exif_out=exif_out)


register(
    Operation(
        name="strip",
        summary="Drop the ICC profile and EXIF from outputs, or keep the profile and the copyright and artist tags.",
        params=StripParams,
        run=strip,
        # Metadata belongs to the whole image: run once, keeping every frame as it is.
        per_frame=False,
    )
)
