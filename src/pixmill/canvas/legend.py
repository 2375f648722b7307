"""The legend: one entry per colour used, with a chart symbol, its cell count and the bags of drills to send.

Symbols are a set designed for charts, handed out clearest first:

1. `SHAPES`: filled and open geometric shapes (disc, square, triangle, diamond, star, plus, cross, heart …), drawn by
   the PDF guide as vector paths (no font has to carry them);
2. letters, digits and signs of Helvetica Bold picked so that no two differ by one stroke or only by case: of each
   pair in `LOOKALIKES` (1/J, 8/B, 2/Z, 5/S, E/F, C/G, P/R, 6/b, O/0, I/l/1 …) at most one is ever used;
3. only legends larger than `CLEAR_SYMBOLS` colours (the budget allows 200) reach the rest of Windows-1252, where
   look-alikes cannot all be avoided.

Within a legend, symbols are assigned so that colours close in CIEDE2000 get very different symbols (another kind of
shape, or a letter next to a filled shape): two colours a crafter could mix up never also share a look.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from pixmill.canvas.color import ciede2000_matrix, srgb_to_lab
from pixmill.canvas.types import CanvasError, LegendEntry, PaletteColor


@dataclass(frozen=True)
class Shape:
    """A symbol drawn as a vector path: its outline kind and whether it is filled or stroked."""

    kind: str  # disc, square, triangle_up, triangle_down, diamond, star, plus, cross, heart, half_disc, hexagon, bar
    filled: bool
    family: str  # shapes of one family look alike from afar (a filled and an open disc)


SHAPES: dict[str, Shape] = {
    "\u25cf": Shape("disc", True, "round"),  # ●
    "\u25a0": Shape("square", True, "square"),  # ■
    "\u25b2": Shape("triangle_up", True, "triangle"),  # ▲
    "\u25c6": Shape("diamond", True, "diamond"),  # ◆
    "\u2605": Shape("star", True, "star"),  # ★
    "\u271a": Shape("plus", True, "cross"),  # ✚
    "\u2716": Shape("cross", True, "cross"),  # ✖
    "\u2665": Shape("heart", True, "heart"),  # ♥
    "\u25cb": Shape("disc", False, "round"),  # ○
    "\u25a1": Shape("square", False, "square"),  # □
    "\u25bd": Shape("triangle_down", False, "triangle"),  # ▽
    "\u25c7": Shape("diamond", False, "diamond"),  # ◇
    "\u25d0": Shape("half_disc", True, "round"),  # ◐
    "\u2b22": Shape("hexagon", True, "hexagon"),  # ⬢
    "\u25ae": Shape("bar", True, "bar"),  # ▮
}
"""Symbols drawn as vector shapes, keyed by the Unicode character that names them in plans and the API."""

_CHART_TEXT = "AHKMTLEPU2349&#@$?!%=~/>"
"""Letters, digits and signs of the designed set (Helvetica Bold), one of each look-alike group."""

_LOOKALIKE_PAIRS = (
    "1J 1I 1l Il 1! I! l! |! |l |I |1 8B 38 2Z 5S EF CG 6G PR 6b bd pq bp ad 9g 9q gq 0O 0Q OQ 0D OD 0o Oo "
    "UV uv MN MW nh nr rn TY 7T 7/ KX 8& <> /\\ ({ )} [( ]) +\u271a x\u2716 X\u2716 *\u2731 o\u25cb O\u25cb 0\u25cb "
    "|\u25ae l\u25ae I\u25ae .\u00b7 ,. :; `\u00b4 -_ -~ -\u00ac \u00ba\u00b0 \u00aa\u00b0 \u00a9@ \u00aeR "
    "\u00df8 \u00dfB \u00deP \u00d0D \u00d8O \u00d80 \u00f8o \u00d7x \u00d7X 69 vy 3B V\u25bd D\u25d0 "
    "!\u00a6 !\u00a1 ?\u00bf %\u2030 f\u0192 \u2020\u2021 \u2039\u203a \u00ab\u00bb C\u00a2 C\u20ac E\u20ac "
    "L\u00a3 \u00c6E \u00c6A \u0152\u00c6 \u00d8\u25cb \u00f06 \u00f0d \u2022\u25cf \u2022\u00b7 "
    "~\u02dc \"' `' \u00a8\" \u00af_ \u00af- \u00b9\u00b2 \u00b2\u00b3 \u00bc\u00bd \u00bd\u00be \u00bc\u00be "
    "\u00b0\u25cb \u00b0o [] {} [{ ]} <\u2039 \u00ab\u2039 >\u203a"
)
LOOKALIKES: tuple[tuple[str, str], ...] = tuple((pair[0], pair[1]) for pair in _LOOKALIKE_PAIRS.split())
"""Pairs of symbols a crafter can mix up (one stroke apart, or near-identical shapes); case and accent twins too."""

# Candidates for the symbols after the designed set, clearest first (Windows-1252: Helvetica draws them all); only
# those with no look-alike among the symbols before them join the clear ones.
_MORE = (
    "JS6CDYNRVfnwyz*[]{}^<+"
    "\u00a7\u00b6\u00b1\u00d7\u00f7\u00a2\u00a3\u00a5\u00a4\u00b5\u00df\u00c6\u00d8\u00c7\u00d1\u00de\u00d0\u00e6"
    "\u00f8\u00e7\u00f1\u00fe\u00f0\u00bf\u00a1\u00ab\u00bb\u00b0\u00a9\u00ae"
    "\u20ac\u2030\u2020\u2021\u2022\u0192\u0160\u0161\u017d\u017e\u0152\u0153\u0178\u2122\u2039\u203a\u00a6"
)
_LAST = (  # never clear: small marks, accented letters, fractions, and the rest of the look-alikes
    "BFGWXZ578abcdeghijklmopqrstuvx()|\\"
    "\u00b9\u00b2\u00b3\u00bc\u00bd\u00be"
    "\u00c0\u00c1\u00c2\u00c3\u00c4\u00c5\u00c8\u00c9\u00ca\u00cb\u00cc\u00cd\u00ce\u00cf\u00d2\u00d3\u00d4\u00d5"
    "\u00d6\u00d9\u00da\u00db\u00dc\u00dd\u00e0\u00e1\u00e2\u00e3\u00e4\u00e5\u00e8\u00e9\u00ea\u00eb\u00ec\u00ed"
    "\u00ee\u00ef\u00f2\u00f3\u00f4\u00f5\u00f6\u00f9\u00fa\u00fb\u00fc\u00fd\u00ff"
    "10OI\u00aa\u00ac\u2026:;\"'`-_\u00ba\u00b7\u00a8\u02dc\u00b4\u00af.,"
)


def _base(symbol: str) -> str:
    """The letter without accents."""
    return unicodedata.normalize("NFD", symbol)[0]


def look_alike(a: str, b: str) -> bool:
    """Whether a crafter could mix up symbols `a` and `b`: a listed pair, case twins, or accent twins."""
    if a == b:
        return False
    if _base(a).casefold() == _base(b).casefold():
        return True
    return (a, b) in _PAIRS or (_base(a), _base(b)) in _PAIRS


_PAIRS = frozenset(LOOKALIKES) | frozenset((b, a) for a, b in LOOKALIKES)


def _sequence() -> tuple[tuple[str, ...], int]:
    designed = [*SHAPES, *_CHART_TEXT]
    clear = list(designed)
    for symbol in _MORE:
        if symbol not in clear and not any(look_alike(symbol, s) for s in clear):
            clear.append(symbol)
    rest = [s for s in (*_MORE, *_LAST) if s not in clear]
    return (*clear, *rest), len(clear)


SYMBOLS, CLEAR_SYMBOLS = _sequence()
"""Legend symbols in the order they are handed out; the first CLEAR_SYMBOLS hold no look-alike pair."""


def symbol_style(symbol: str) -> tuple[str, str]:
    """(family, style) of a symbol: what it looks like from arm's length."""
    shape = SHAPES.get(symbol)
    if shape is not None:
        return shape.family, "filled" if shape.filled else "open"
    if symbol.isdigit():
        return "digit", "text"
    if symbol.isalpha():
        return "letter", "text"
    return "sign", "text"


_CLOSE_WEIGHT = 12.0
"""ΔE00 one step of symbol difference is worth when assigning symbols (family and style count one step each)."""


def _difference(symbols: Sequence[str]) -> np.ndarray:
    """(n, n) 0..2: how different two symbols look (another family, another style)."""
    styles = [symbol_style(s) for s in symbols]
    family = np.array([f for f, _ in styles])
    style = np.array([s for _, s in styles])
    return (family[:, None] != family[None, :]).astype(np.float64) + (style[:, None] != style[None, :])


def assign_symbols(colors: Sequence[PaletteColor]) -> list[str]:
    """One symbol per colour (in the given order) from the first len(colors) of SYMBOLS: each colour in turn takes
    the symbol that is most unlike the symbols of the colours nearest it (ties: the clearest)."""
    n = len(colors)
    if n > len(SYMBOLS):
        raise CanvasError(f"a legend has at most {len(SYMBOLS)} colours, got {n}")
    if n == 0:
        return []
    pool = list(SYMBOLS[:n])
    lab = srgb_to_lab(np.array([c.rgb for c in colors], dtype=np.uint8))
    distance = ciede2000_matrix(lab, lab)
    difference = _difference(pool)
    free = np.ones(n, dtype=bool)
    chosen = np.empty(n, dtype=np.int64)
    for i in range(n):
        candidates = np.flatnonzero(free)
        if i == 0:
            pick = int(candidates[0])
        else:
            score = (distance[i, :i][None, :] + _CLOSE_WEIGHT * difference[np.ix_(candidates, chosen[:i])]).min(axis=1)
            pick = int(candidates[int(np.argmax(score))])  # argmax takes the first (clearest) of equal scores
        chosen[i] = pick
        free[pick] = False
    return [pool[k] for k in _improve(chosen, distance, 2.0 - difference)]


_CLOSE_DE = 8.0
"""Colours further apart than this (ΔE00) may share a look."""


def _improve(chosen: np.ndarray, distance: np.ndarray, similar: np.ndarray) -> np.ndarray:
    """Swap symbols between colours while that lowers Σ weight(ΔE) · similarity over all pairs of colours (weight
    falling from 1 at ΔE 0 to 0 at _CLOSE_DE): the best swap each time, the first of equals, so it is deterministic."""
    n = len(chosen)
    weight = np.clip(1.0 - distance / _CLOSE_DE, 0.0, None) ** 2
    np.fill_diagonal(weight, 0.0)
    sigma = chosen.copy()
    for _ in range(4 * n):
        a = similar[np.ix_(sigma, sigma)]  # a[i, j]: how alike the symbols of colours i and j are
        m = weight @ a  # m[i, j]: colour i's total likeness to the others if it had colour j's symbol
        own = np.diag(m)
        self_alike = np.diag(a)
        delta = (
            (m - weight * self_alike[None, :])
            - (own[:, None] - weight * a)
            + (m.T - weight * self_alike[:, None])
            - (own[None, :] - weight * a.T)
        )
        best = int(np.argmin(delta))
        if delta.flat[best] >= -1e-9:
            break
        i, j = divmod(best, n)
        sigma[i], sigma[j] = sigma[j], sigma[i]
    return sigma


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
    """Legend entries in the given order (the caller orders them, e.g. by count), symbols from `assign_symbols`."""
    if len(colors) > len(SYMBOLS):
        raise CanvasError(f"a legend has at most {len(SYMBOLS)} colours, got {len(colors)}")
    if len(colors) != len(counts):
        raise ValueError("one count per colour")
    symbols = assign_symbols(colors)
    return [
        LegendEntry(
            code=color.code,
            name=color.name,
            rgb=color.rgb,
            symbol=symbol,
            count=int(count),
            bags=bags_needed(int(count), drills_per_bag, spare_percent),
        )
        for color, count, symbol in zip(colors, counts, symbols, strict=True)
    ]
