"""Parameter types shared by several operations: colours and gravity."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from PIL import ImageColor
from pydantic import BeforeValidator

RGBA = tuple[int, int, int, int]

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")


def parse_color(value: object) -> RGBA:
    """'#rgb', '#rgba', '#rrggbb', '#rrggbbaa' (the '#' optional), a CSS colour name, or [r, g, b(, a)]."""
    if isinstance(value, list | tuple) and len(value) in (3, 4) and all(isinstance(v, int) for v in value):
        channels = [*value, 255][:4]
        if not all(0 <= c <= 255 for c in channels):
            raise ValueError("colour channels are 0-255")
        return channels[0], channels[1], channels[2], channels[3]
    if not isinstance(value, str):
        raise ValueError("a colour is a hex string such as '#ff8800' or a list [r, g, b(, a)]")
    text = value.strip()
    match = _HEX.match(text)
    if match:
        digits = match.group(1)
        if len(digits) in (3, 4):
            digits = "".join(c * 2 for c in digits)
        if len(digits) == 6:
            digits += "ff"
        r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
        return r, g, b, a
    try:
        rgb = ImageColor.getrgb(text.lower())
    except ValueError:
        raise ValueError(f"{value!r} is not a colour: use '#rrggbb', '#rrggbbaa' or a CSS colour name") from None
    return (rgb[0], rgb[1], rgb[2], rgb[3] if len(rgb) == 4 else 255)


Color = Annotated[RGBA, BeforeValidator(parse_color)]

# Where to anchor a crop, a pad or an overlay. `smart` and `focal` are understood by crop only;
# `faces` and `objects` come with the ML models.
Gravity = Literal["centre", "north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest"]

GRAVITY_ANCHOR: dict[str, tuple[float, float]] = {
    "centre": (0.5, 0.5),
    "north": (0.5, 0.0),
    "northeast": (1.0, 0.0),
    "east": (1.0, 0.5),
    "southeast": (1.0, 1.0),
    "south": (0.5, 1.0),
    "southwest": (0.0, 1.0),
    "west": (0.0, 0.5),
    "northwest": (0.0, 0.0),
}


def anchored_offset(outer: tuple[int, int], inner: tuple[int, int], gravity: str) -> tuple[int, int]:
    """Top-left offset that places `inner` inside `outer` (or `outer` inside `inner`) at `gravity`."""
    fx, fy = GRAVITY_ANCHOR[gravity]
    return round((outer[0] - inner[0]) * fx), round((outer[1] - inner[1]) * fy)
