from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
import pytest

from pixmill.canvas.guide import (
    DEFAULT_CELL_MM,
    MM,
    PAPERS,
    grid_area,
    guide_layout,
    legend_layout,
    render_guide,
    text_colour,
    tile_layout,
)
from pixmill.canvas.model import CanvasError, DotPlan
from tests.canvas.dotplans import make_plan, pdf_page_count, shown_text

CELL_PT = DEFAULT_CELL_MM * MM


def _check_tiles(cols: int, rows: int, paper: str, cell_pt: float, overlap: int) -> None:
    tiles = tile_layout(cols, rows, paper, cell_pt, overlap)
    _, _, width, height = grid_area(paper)
    owned = np.zeros((rows, cols), dtype=int)
    for index, t in enumerate(tiles):
        assert t.index == index
        owned[t.row0 : t.row1, t.col0 : t.col1] += 1
        assert t.show_col0 == max(0, t.col0 - overlap) and t.show_row0 == max(0, t.row0 - overlap)
        assert t.shown_cols * cell_pt <= width + 1e-6 and t.shown_rows * cell_pt <= height + 1e-6
    assert (owned == 1).all()  # every cell on exactly one page outside the overlaps
    # Row-major on a regular page grid: tiles in a page row share rows, tiles in a page column share columns.
    for t in tiles:
        for u in tiles:
            if t.tile_row == u.tile_row:
                assert (t.row0, t.row1) == (u.row0, u.row1)
            if t.tile_col == u.tile_col:
                assert (t.col0, t.col1) == (u.col0, u.col1)
    # Each overlap strip is the neighbouring page's last cells.
    by_pos = {(t.tile_col, t.tile_row): t for t in tiles}
    for t in tiles:
        if t.tile_col:
            assert by_pos[t.tile_col - 1, t.tile_row].col1 == t.col0
        if t.tile_row:
            assert by_pos[t.tile_col, t.tile_row - 1].row1 == t.row0


@pytest.mark.parametrize("paper", ["A4", "A3", "Letter"])
@pytest.mark.parametrize(("cols", "rows"), [(160, 200), (200, 160), (37, 211), (1, 1), (300, 20), (40, 55)])
@pytest.mark.parametrize("overlap", [0, 2, 3])
def test_tile_layout_covers_every_cell_once(paper: str, cols: int, rows: int, overlap: int) -> None:
    _check_tiles(cols, rows, paper, CELL_PT, overlap)


@pytest.mark.parametrize("cell_mm", [2.0, 2.5, 3.5, 6.0, 10.0])
def test_tile_layout_at_other_cell_sizes(cell_mm: float) -> None:
    for paper in PAPERS:
        _check_tiles(160, 200, paper, cell_mm * MM, 2)


def test_default_tiling_of_a_160_by_200_canvas() -> None:
    a4 = tile_layout(160, 200, "A4", CELL_PT, 2)
    a3 = tile_layout(160, 200, "A3", CELL_PT, 2)
    assert len(a4) == 20 and {(t.col1 - t.col0, t.row1 - t.row0) for t in a4} == {(32, 50)}
    assert len(a3) == 9
    assert len(tile_layout(30, 40, "A4", CELL_PT, 2)) == 1


def test_tile_layout_rejects_what_cannot_fit() -> None:
    with pytest.raises(CanvasError):
        tile_layout(100, 100, "A4", 400 * MM, 0)  # a cell wider than the page
    with pytest.raises(CanvasError):
        tile_layout(100, 100, "A4", 60 * MM, 3)  # three cells a page cannot repeat three
    with pytest.raises(CanvasError):
        tile_layout(100, 100, "B5", CELL_PT, 2)


@pytest.mark.parametrize(("paper", "pages"), [("A4", 21), ("A3", 10)])
def test_pdf_page_count_matches_the_layout(paper: str, pages: int) -> None:
    plan = make_plan(160, 200, pattern="bands")
    pdf = render_guide(plan, paper)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    layout = guide_layout(plan, paper)
    assert layout.page_count == pages == 1 + len(layout.tiles)
    assert pdf_page_count(pdf) == pages


def test_scale_print_adds_pages_at_the_real_pitch() -> None:
    plan = make_plan(160, 200, pattern="bands", cell_mm=2.5)
    layout = guide_layout(plan, "A4", scale_print=True)
    assert layout.scale_tiles == tile_layout(160, 200, "A4", 2.5 * MM, 0)
    assert layout.page_count == 1 + len(layout.tiles) + len(layout.scale_tiles)
    pdf = render_guide(plan, "A4", scale_print=True, compress=False)
    assert pdf_page_count(pdf) == layout.page_count
    assert b"5 cm" in b"".join(shown_text(pdf))


def test_a_big_legend_spans_pages() -> None:
    symbols = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in "()\\") + "".join(
        chr(c) for c in range(0xC0, 0x100)
    )
    plan = make_plan(60, 50, n_colors=150, symbols=symbols)
    spans = legend_layout(150, "A4")
    assert len(spans) > 1
    assert spans[0][0] == 0 and spans[-1][1] == 150
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    layout = guide_layout(plan, "A4")
    assert layout.legend_pages == spans
    pdf = render_guide(plan, "A4", compress=False)
    assert pdf_page_count(pdf) == layout.page_count == len(spans) + len(layout.tiles)
    text = Counter(shown_text(pdf))
    for e in plan.legend:
        assert text[e.code.encode()] == 1  # every code once, in the legend
    assert text[b"Legend (continued)"] == len(spans) - 1


def test_a_small_legend_fits_on_the_cover() -> None:
    for paper in PAPERS:
        assert legend_layout(36, paper) == [(0, 36)]


def test_same_plan_same_bytes() -> None:
    plan = make_plan(90, 70, pattern="bands", shape="round")
    first = render_guide(plan, "A4", scale_print=True)
    assert render_guide(plan, "A4", scale_print=True) == first
    assert render_guide(make_plan(90, 70, pattern="bands", shape="round"), "A4", scale_print=True) == first
    assert render_guide(make_plan(90, 70, pattern="bands", shape="round", seed=1), "A4", scale_print=True) != first
    assert render_guide(plan, "A4", compress=False) == render_guide(plan, "A4", compress=False)


def _expected_symbol_counts(plan: DotPlan, paper: str) -> Counter[str]:
    """Symbols the grid pages show: each tile's core and overlap cells, plus one in the legend."""
    counts: Counter[str] = Counter(e.symbol for e in plan.legend)
    for t in guide_layout(plan, paper).tiles:
        for index in plan.grid[t.show_row0 : t.row1, t.show_col0 : t.col1].ravel().tolist():
            counts[plan.legend[index].symbol] += 1
    return counts


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_every_shown_cell_has_its_symbol_as_text(paper: str) -> None:
    plan = make_plan(100, 120, n_colors=26, pattern="random", symbols="ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    pdf = render_guide(plan, paper, compress=False)
    shown = Counter(shown_text(pdf))
    for symbol, count in _expected_symbol_counts(plan, paper).items():
        assert shown[symbol.encode()] == count, symbol
    assert b"/Helvetica-Bold" in pdf


def test_grid_pages_number_rows_and_columns_and_name_the_page() -> None:
    plan = make_plan(160, 200, pattern="bands")
    pdf = render_guide(plan, "A4", compress=False)
    text = shown_text(pdf)
    assert b"Page 2  \xb7  Symbol grid" in text
    assert b"Columns 1\x96" + b"32, rows 1\x9650 of 160 \xd7 200" in text
    assert b"Columns 129\x96" + b"160, rows 151\x96200 of 160 \xd7 200" in text
    assert b"Washed-out cells left of the dashed line repeat page 20; cells above it repeat page 16." in text
    numbers = Counter(text)
    layout = guide_layout(plan, "A4")
    for label in (31, 41, 160, 199):  # (not 2..21: the page map shows those)
        # Numbered above and below every page showing the column, left and right of every page showing the row.
        expected = sum(2 * (t.show_col0 < label <= t.col1) + 2 * (t.show_row0 < label <= t.row1) for t in layout.tiles)
        assert numbers[str(label).encode()] == expected, label
    assert numbers[b"Page map"] == 20


def test_cover_has_the_preview_and_the_facts() -> None:
    plan = make_plan(160, 200, pattern="bands", cell_mm=2.5)
    pdf = render_guide(plan, "A4", compress=False)
    assert re.search(rb"/Subtype\s*/Image", pdf) and b"/DCTDecode" in pdf
    text = b"\n".join(shown_text(pdf))
    assert b"40.0 \xd7 50.0 cm  (15.7 \xd7 19.7 in)" in text
    assert b"160 \xd7 200 = 32,000 square drills" in text
    assert b"2.5 mm" in text
    assert b"Test palette, version 7" in text


def test_text_colour_follows_luminance() -> None:
    assert text_colour((0.0, 0.0, 0.0)) == (1.0, 1.0, 1.0)
    assert text_colour((0.1, 0.1, 0.5)) == (1.0, 1.0, 1.0)
    assert text_colour((1.0, 1.0, 1.0)) == (0.0, 0.0, 0.0)
    assert text_colour((1.0, 1.0, 0.0)) == (0.0, 0.0, 0.0)
    assert text_colour((0.6, 0.6, 0.6)) == (0.0, 0.0, 0.0)


def test_full_tint_writes_light_symbols_on_dark_cells() -> None:
    plan = make_plan(20, 20, n_colors=2, pattern="checker")
    plan.legend[0] = plan.legend[0].__class__(**{**plan.legend[0].__dict__, "rgb": (10, 10, 40)})
    plan.legend[1] = plan.legend[1].__class__(**{**plan.legend[1].__dict__, "rgb": (250, 240, 200)})
    pdf = render_guide(plan, "A4", tint=1.0, compress=False)
    assert b"1 1 1 rg" in pdf and b"0 0 0 rg" in pdf


def test_bad_options_are_canvas_errors() -> None:
    plan = make_plan(20, 20)
    with pytest.raises(CanvasError):
        render_guide(plan, "A5")
    with pytest.raises(CanvasError):
        render_guide(plan, cell_mm=1.0)
    with pytest.raises(CanvasError):
        render_guide(plan, tint=1.5)
    plan.grid = plan.grid[:3]
    with pytest.raises(CanvasError):
        render_guide(plan)
