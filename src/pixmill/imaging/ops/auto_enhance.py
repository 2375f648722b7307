"""auto_enhance: automatic levels on luminance, plus optional local contrast.

Levels: the luminance histogram (of the pixels that are not fully transparent) is clipped by `cutoff` per
cent at each end, and the remaining range is stretched to 0-255 by one lookup table applied identically to
R, G and B, so every channel moves the same way and hues do not shift. An image whose clipped range is a
single level (a flat image) is left as it is.

Local contrast: an unsharp mask of large radius (2 % of the longer side, at least 2 px) on luminance; the
same luminance change is added to R, G and B, again so hues do not shift. Alpha is untouched.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import join_alpha, lookup, split_alpha
from pixmill.imaging.values import ImageValue, Value

LOCAL_CONTRAST_RADIUS = 0.02  # of the longer side
MIN_LOCAL_CONTRAST_RADIUS = 2.0  # pixels


class AutoEnhanceParams(Params):
    cutoff: float = Field(
        default=0.5,
        ge=0.0,
        le=20.0,
        description="Per cent of pixels, by luminance, clipped to black at the dark end and to white at the "
        "bright end before stretching; makes the stretch ignore a few outliers.",
    )
    local_contrast: float = Field(
        default=0.0,
        ge=0.0,
        le=2.0,
        description="Strength of a large-radius unsharp mask on luminance that brings out local contrast; "
        "0 turns it off, 1 adds the local detail once more, 2 twice.",
    )


def levels_table(histogram: list[int], cutoff: float) -> list[int] | None:
    """The lookup table that stretches the clipped range of a 256-bin histogram to 0-255, or None when
    there is nothing to stretch (no counted pixels, or a single level left)."""
    counts = np.asarray(histogram, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return None
    cut = total * cutoff / 100
    low = int(np.searchsorted(np.cumsum(counts), cut, side="right"))
    high = 255 - int(np.searchsorted(np.cumsum(counts[::-1]), cut, side="right"))
    if high <= low:
        return None
    levels = np.arange(256, dtype=np.float64)
    table = np.clip(np.rint((levels - low) * 255 / (high - low)), 0, 255).astype(np.uint8)
    return [int(v) for v in table]


def local_contrast(colour: Image.Image, strength: float) -> Image.Image:
    """Add `strength` times the difference between luminance and its large-radius blur to every channel."""
    luma = colour if colour.mode == "L" else colour.convert("L")
    radius = max(MIN_LOCAL_CONTRAST_RADIUS, LOCAL_CONTRAST_RADIUS * max(colour.size))
    blurred = luma.filter(ImageFilter.GaussianBlur(radius))
    detail = np.asarray(luma, dtype=np.int16) - np.asarray(blurred, dtype=np.int16)
    delta = np.rint(detail * np.float32(strength)).astype(np.int16)
    channels = np.asarray(colour, dtype=np.int16)
    if channels.ndim == 3:
        delta = delta[..., np.newaxis]
    out = np.clip(channels + delta, 0, 255).astype(np.uint8)
    return Image.fromarray(out, mode=colour.mode)


def auto_enhance(inputs: list[Value], p: AutoEnhanceParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    colour, alpha = split_alpha(src.image)
    luma = colour if colour.mode == "L" else colour.convert("L")
    table = levels_table(luma.histogram(mask=alpha), p.cutoff)  # fully transparent pixels do not count
    if table is not None:
        colour = lookup(colour, table)
    if p.local_contrast > 0:
        colour = local_contrast(colour, p.local_contrast)
    return src.with_image(join_alpha(colour, alpha))


register(
    Operation(
        name="auto_enhance",
        summary="Automatic levels: stretch luminance to the full range (hues kept), optionally with local contrast.",
        params=AutoEnhanceParams,
        run=auto_enhance,
    )
)
