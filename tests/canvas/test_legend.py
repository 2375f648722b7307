from __future__ import annotations

import itertools

import numpy as np
import pytest

from pixmill.canvas.color import ciede2000
from pixmill.canvas.legend import (
    CLEAR_SYMBOLS,
    LOOKALIKES,
    SHAPES,
    SYMBOLS,
    assign_symbols,
    bags_needed,
    build_legend,
    look_alike,
    symbol_style,
)
from pixmill.canvas.types import CanvasError, Palette, PaletteColor


def test_symbols_are_distinct_printable_and_drawable() -> None:
    assert len(SYMBOLS) >= 200  # the largest budget
    assert len(set(SYMBOLS)) == len(SYMBOLS)
    for symbol in SYMBOLS:
        assert len(symbol) == 1 and symbol.isprintable() and not symbol.isspace()
        if symbol not in SHAPES:
            symbol.encode("cp1252")  # WinAnsiEncoding: Helvetica Bold has every glyph
    assert set(SYMBOLS[: len(SHAPES)]) == set(SHAPES)  # the shapes come first


# The look-alikes a crafter complained of (issue 11), and the classic ones of chart symbols.
NAMED_PAIRS = [
    *("1J", "8B", "2Z", "5S", "EF", "CG", "PR", "6b", "O0", "Il", "I1", "l1", "Oo", "Cc", "Ss", "Xx", "Zz"),
    *("Kk", "Vv", "Ww", "Uu", "Pp", "Mm", "9g", "qg", "pq", "bd", "UV", "MN", "uv", "3B", "69", "Éé", "ÉE"),
]


def test_no_look_alike_pair_among_the_clear_symbols() -> None:
    assert CLEAR_SYMBOLS >= 60  # every budget up to 60 colours uses only clear symbols
    clear = SYMBOLS[:CLEAR_SYMBOLS]
    for a, b in (tuple(pair) for pair in NAMED_PAIRS):
        assert look_alike(a, b), (a, b)
        assert not (a in clear and b in clear), (a, b)
    for a, b in LOOKALIKES:
        assert not (a in clear and b in clear), (a, b)
    assert not [(a, b) for a, b in itertools.combinations(clear, 2) if look_alike(a, b)]


def test_close_colours_get_very_different_symbols(dmc: Palette, dmc_lab: np.ndarray) -> None:
    # The 40 DMC colours nearest one mid brown: many pairs a crafter could mix up by colour alone.
    brown = dmc_lab[[c.code for c in dmc.colors].index("433")]
    nearest = np.argsort(ciede2000(dmc_lab, brown))[:40]
    colours = [dmc.colors[int(i)] for i in nearest]
    symbols = assign_symbols(colours)
    assert sorted(symbols) == sorted(SYMBOLS[:40])
    lab = dmc_lab[nearest]
    close = 0
    for i, j in itertools.combinations(range(40), 2):
        if ciede2000(lab[i], lab[j]) < 6.0:
            close += 1
            family_i, style_i = symbol_style(symbols[i])
            family_j, style_j = symbol_style(symbols[j])
            # Another kind of shape (or letter, digit, sign) and another style (filled, open, text).
            assert family_i != family_j and style_i != style_j, (
                colours[i].name,
                colours[j].name,
                symbols[i],
                symbols[j],
            )
    assert close >= 20
    assert assign_symbols(colours) == symbols  # deterministic


@pytest.mark.parametrize(
    ("count", "per_bag", "spare", "bags"),
    [
        (0, 200, 10, 0),
        (1, 200, 10, 1),
        (181, 200, 10, 1),  # 199.1 drills
        (182, 200, 10, 2),  # 200.2 drills
        (2000, 200, 10, 11),  # exactly 2200: no rounding up from float error
        (200, 200, 0, 1),
        (1000, 150, 12.5, 8),  # 1125 drills
    ],
)
def test_bags(count: int, per_bag: int, spare: float, bags: int) -> None:
    assert bags_needed(count, per_bag, spare) == bags


def test_build_legend() -> None:
    colours = [PaletteColor("310", "Black", (0, 0, 0)), PaletteColor("B5200", "Snow White", (255, 255, 255))]
    legend = build_legend(colours, [500, 20], 200, 10)
    assert [(e.code, e.symbol, e.count, e.bags) for e in legend] == [
        ("310", SYMBOLS[0], 500, 3),
        ("B5200", SYMBOLS[1], 20, 1),
    ]
    with pytest.raises(CanvasError):
        build_legend(colours * 200, [1] * 400, 200, 10)
