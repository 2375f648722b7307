"""Geometry shared by several operations and the canvas engine: aspects, regions, smart windows, cuts."""

from __future__ import annotations

import re
from dataclasses import replace
from fractions import Fraction
from typing import Annotated

import numpy as np
from PIL import Image
from pydantic import AfterValidator

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.param_types import anchored_offset
from pixmill.imaging.values import ImageValue

MAX_SIDE = 30_000
# The long side of the grayscale copy that smart gravity scores windows on.
SMART_SIZE = 256

_ASPECT = re.compile(r"^\s*(\d{1,5}(?:\.\d{1,4})?)\s*:\s*(\d{1,5}(?:\.\d{1,4})?)\s*$")


def parse_aspect(text: str) -> Fraction:
    """'16:9' or '1.91:1' as the ratio width / height; ValueError when it is not one."""
    match = _ASPECT.match(text)
    if not match:
        raise ValueError(f"{text!r} is not an aspect: write it as 'W:H', e.g. '16:9' or '1.91:1'")
    w, h = Fraction(match.group(1)), Fraction(match.group(2))
    if w == 0 or h == 0:
        raise ValueError(f"aspect {text!r} has a zero side: both W and H must be above 0")
    ratio = w / h
    if not Fraction(1, 1000) <= ratio <= 1000:
        raise ValueError(f"aspect {text!r} is too extreme: W/H must be between 1:1000 and 1000:1")
    return ratio


def check_aspect(text: str) -> str:
    parse_aspect(text)
    return re.sub(r"\s", "", text)


# An aspect ratio written 'W:H' (checked, kept as text so the canonical form reads as it was given).
Aspect = Annotated[str, AfterValidator(check_aspect)]


def largest_region(size: tuple[int, int], ratio: Fraction) -> tuple[int, int]:
    """The largest width x height of aspect `ratio` (width / height) that fits inside `size`."""
    w, h = size
    if Fraction(w, h) > ratio:  # the image is wider than the aspect: keep the full height
        return max(1, min(w, round(h * ratio))), h
    return w, max(1, min(h, round(w / ratio)))


def _energy(im: Image.Image, small: tuple[int, int]) -> np.ndarray:
    """Edge energy (absolute neighbour differences) of a grayscale copy of `im` at size `small`."""
    im = im if im.size == small else im.resize(small, Image.Resampling.BOX)
    gray = np.asarray(im.convert("L"), dtype=np.int64)
    if im.mode in ("LA", "RGBA"):  # detail under transparent pixels is not seen
        gray = gray * np.asarray(im.getchannel("A"), dtype=np.int64) // 255
    energy = np.zeros_like(gray)
    energy[:, 1:] += np.abs(np.diff(gray, axis=1))
    energy[1:, :] += np.abs(np.diff(gray, axis=0))
    return energy


def smart_offset(frames: list[Image.Image], crop: tuple[int, int], ctx: RunContext) -> tuple[int, int]:
    """Top-left of the crop-sized window with the most edge energy (over every frame); ties go to the centre."""
    w, h = frames[0].size
    cw, ch = crop
    scale = min(1.0, SMART_SIZE / max(w, h))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    energy = np.zeros((sh, sw), dtype=np.int64)
    for frame in frames:
        ctx.check_deadline()
        energy += _energy(frame, (sw, sh))
    integral = np.zeros((sh + 1, sw + 1), dtype=np.int64)
    integral[1:, 1:] = energy.cumsum(axis=0).cumsum(axis=1)
    ww = min(sw, max(1, round(cw * sw / w)))
    wh = min(sh, max(1, round(ch * sh / h)))
    sums = integral[wh:, ww:] - integral[:-wh, ww:] - integral[wh:, :-ww] + integral[:-wh, :-ww]
    ny, nx = sums.shape
    ties = sums == sums.max()
    centre_x, centre_y = anchored_offset((w, h), crop, "centre")
    # The centred window, when as detailed as any (its one to four nearest small positions all tie).
    near_x = {(nx - 1) // 2, nx // 2}
    near_y = {(ny - 1) // 2, ny // 2}
    if all(ties[y, x] for y in near_y for x in near_x):
        return centre_x, centre_y
    ys, xs = np.nonzero(ties)
    # Twice the distance from the centred window, squared: integers, so the tie-break is exact.
    distance = (2 * ys - (ny - 1)) ** 2 + (2 * xs - (nx - 1)) ** 2
    best = int(np.lexsort((xs, ys, distance))[0])
    # Map the small window's range of positions onto the full image's, so the ends meet the edges.
    left = round(int(xs[best]) * (w - cw) / (nx - 1)) if nx > 1 else centre_x
    top = round(int(ys[best]) * (h - ch) / (ny - 1)) if ny > 1 else centre_y
    return left, top


def cut(src: ImageValue, box: tuple[int, int, int, int]) -> ImageValue:
    """`src` cut to `box`: every frame of an animation alike; `src` itself when the box is the whole image."""
    if box == (0, 0, src.image.width, src.image.height):
        return src
    if src.frames is None:
        return src.with_image(src.image.crop(box))
    frames = [frame.crop(box) for frame in src.frames]
    return replace(src, image=frames[0], frames=frames, shrunk_from=None)
