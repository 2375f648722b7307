"""The legend: one entry per colour used, with a printable symbol, its cell count and the bags of drills to send.

Symbols come from a fixed sequence, clearest first: digits (without 0), capitals (without I and O), lowercase
letters whose shape differs from their capital (without l and o), then ASCII signs, then Latin-1 signs and
accented letters, and last the easily confused letters and the small signs (only large legends reach them).
Every symbol is a single character of Windows-1252 (WinAnsiEncoding), so the standard PDF fonts (Helvetica,
Courier) draw it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from pixmill.canvas.model import CanvasError, LegendEntry, PaletteColor

# Look-alikes of ASCII characters are intended here: each is one distinct symbol (ruff's RUF001 is silenced).
SYMBOLS: tuple[str, ...] = tuple(
    "123456789"
    "ABCDEFGHJKLMNPQRSTUVWXYZ"
    "abdefghijmnqrty"
    "+=*#%&@$?!<>~/\\[]{}()|"
    "§¶©®±×÷¢£¥¤µßÆØÇÑÞÐæøçñþð¿¡«»°"  # noqa: RUF001
    "ÀÁÂÃÄÅÈÉÊËÌÍÎÏÒÓÔÕÖÙÚÛÜÝ"
    "àáâãäåèéêëìíîïòóôõöùúûüýÿ"
    "€‰†‡•ƒŠšŽžŒœŸ™‹›¦¹²³¼½¾"  # noqa: RUF001
    "ckpsuvwxz0OIlo"
    "ª¬…:;^\"'`-_º·¨˜´¯"  # noqa: RUF001
)
"""Legend symbols in the order they are handed out (clearest first)."""


def bags_needed(count: int, drills_per_bag: int, spare_percent: float) -> int:
    """ceil(count · (1 + spare) / drills_per_bag), computed exactly (the spare taken as the decimal it reads as)."""
    if count <= 0:
        return 0
    spare = Fraction(str(spare_percent))
    return math.ceil(count * (100 + spare) / (100 * drills_per_bag))


def build_legend(
    colors: Sequence[PaletteColor],
    counts: Sequence[int],
    drills_per_bag: int,
    spare_percent: float,
) -> list[LegendEntry]:
    """Legend entries in the given order (the caller orders them, e.g. by count): symbol i goes to entry i."""
    if len(colors) > len(SYMBOLS):
        raise CanvasError(f"a legend has at most {len(SYMBOLS)} colours, got {len(colors)}")
    if len(colors) != len(counts):
        raise ValueError("one count per colour")
    return [
        LegendEntry(
            code=color.code,
            name=color.name,
            rgb=color.rgb,
            symbol=SYMBOLS[i],
            count=int(count),
            bags=bags_needed(int(count), drills_per_bag, spare_percent),
        )
        for i, (color, count) in enumerate(zip(colors, counts, strict=True))
    ]
