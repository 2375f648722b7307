"""Helpers for colour and tone operations: work on the colour channels, leave alpha untouched."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PIL import Image

from pixmill.imaging.values import ImageValue

_COLOUR_MODE = {"L": "L", "LA": "L", "RGB": "RGB", "RGBA": "RGB"}


def split_alpha(im: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """The colour channels (mode L or RGB) and the alpha channel (None when the image has none)."""
    if im.mode not in _COLOUR_MODE:
        raise ValueError(f"expected an image in mode L, LA, RGB or RGBA, not {im.mode}")
    if im.mode in ("L", "RGB"):
        return im, None
    bands = im.split()
    return Image.merge(_COLOUR_MODE[im.mode], bands[:-1]), bands[-1]


def join_alpha(colour: Image.Image, alpha: Image.Image | None) -> Image.Image:
    """`colour` (mode L or RGB) with `alpha` attached as it is (LA or RGBA), or `colour` alone."""
    if alpha is None:
        return colour
    return Image.merge(colour.mode + "A", [*colour.split(), alpha])


def on_colour(im: Image.Image, transform: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply `transform` to the colour channels of `im` (L or RGB) and re-attach the untouched alpha."""
    colour, alpha = split_alpha(im)
    return join_alpha(transform(colour), alpha)


def lookup(colour: Image.Image, table: Sequence[int]) -> Image.Image:
    """Map every colour channel (L or RGB) through one 256-entry table."""
    if len(table) != 256:
        raise ValueError("a lookup table has 256 entries")
    return colour.point(list(table) * len(colour.getbands()))


def replace_image(src: ImageValue, image: Image.Image) -> ImageValue:
    """`src` around a new image; an ICC profile is dropped when the colour model changes (RGB <-> grey),
    since an RGB profile does not describe grey pixels, nor a grey profile RGB ones.

    `image` must be new (made by the operation): its `info` loses the profile too, as encoders read it there.
    """
    value = src.with_image(image)
    if _COLOUR_MODE.get(src.image.mode) != _COLOUR_MODE.get(image.mode):
        value.icc_profile = None
        image.info.pop("icc_profile", None)
    return value
