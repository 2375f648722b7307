from __future__ import annotations

import pytest

from pixmill.canvas.legend import SYMBOLS, bags_needed, build_legend
from pixmill.canvas.model import CanvasError, PaletteColor


def test_symbols_are_distinct_printable_and_in_the_pdf_fonts() -> None:
    assert len(SYMBOLS) >= 200  # the largest budget
    assert len(set(SYMBOLS)) == len(SYMBOLS)
    for symbol in SYMBOLS:
        assert len(symbol) == 1 and symbol.isprintable() and not symbol.isspace()
        symbol.encode("cp1252")  # WinAnsiEncoding: Helvetica and Courier have every glyph
    assert SYMBOLS[:9] == tuple("123456789")
    assert not {"0", "O", "I", "l", "o"} & set(SYMBOLS[:100])


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
    assert [(e.code, e.symbol, e.count, e.bags) for e in legend] == [("310", "1", 500, 3), ("B5200", "2", 20, 1)]
    with pytest.raises(CanvasError):
        build_legend(colours * 200, [1] * 400, 200, 10)
