from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from pixmill.canvas.guide import (
    DEFAULT_CELL_MM,
    MM,
    PAPERS,
    grid_area,
    guide_layout,
    legend_layout,
    most_colours,
    page_legend_height,
    render_guide,
    text_colour,
    tile_layout,
)
from pixmill.canvas.legend import SHAPES, SYMBOLS
from pixmill.canvas.types import CanvasError, DotPlan
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


@pytest.mark.parametrize(("paper", "pages"), [("A4", 26), ("A3", 10)])
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
    full_band = page_legend_height(len(plan.legend), "A4")
    assert layout.scale_tiles == tile_layout(160, 200, "A4", 2.5 * MM, 0, legend_pt=full_band)
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
    grid = np.asarray(plan.grid)
    for index, e in enumerate(plan.legend):
        pages = sum(index in grid[t.show_row0 : t.row1, t.show_col0 : t.col1] for t in layout.tiles)
        assert text[e.code.encode()] == 1 + pages  # every code once in the legend, and on each page it is on
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
    """Symbols the grid pages show: each tile's core and overlap cells, one in each page's legend for each colour on
    it, plus one in the legend."""
    counts: Counter[str] = Counter(e.symbol for e in plan.legend)
    for t in guide_layout(plan, paper).tiles:
        shown = plan.grid[t.show_row0 : t.row1, t.show_col0 : t.col1]
        for index in [*shown.ravel().tolist(), *np.unique(shown).tolist()]:
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
    # 40 rows a page: the colours' legend at each page's foot takes the room of the 10 more rows a page had.
    assert b"Columns 1\x96" + b"32, rows 1\x9640 of 160 \xd7 200" in text
    assert b"Columns 129\x96" + b"160, rows 161\x96200 of 160 \xd7 200" in text
    assert b"Washed-out cells left of the dashed line repeat page 25; cells above it repeat page 21." in text
    numbers = Counter(text)
    layout = guide_layout(plan, "A4")
    for label in (31, 41, 160, 199):  # (not 2..26: the page map shows those)
        # Numbered above and below every page showing the column, left and right of every page showing the row.
        expected = sum(2 * (t.show_col0 < label <= t.col1) + 2 * (t.show_row0 < label <= t.row1) for t in layout.tiles)
        assert numbers[str(label).encode()] == expected, label
    assert numbers[b"Page map"] == 25


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


def _page_streams(pdf: bytes, pages: int) -> list[bytes]:
    """The content stream of each page of an uncompressed guide, found by its footer (Page n of N)."""
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, flags=re.S)
    out = []
    for n in range(1, pages + 1):
        mark = f"(Page {n} of {pages}) Tj".encode()
        found = [st for st in streams if mark in st]
        assert len(found) == 1, n
        out.append(found[0])
    return out


def _texts(stream: bytes) -> list[bytes]:
    return shown_text(stream)


@pytest.mark.parametrize("colour", [True, False])
def test_every_grid_page_lists_the_colours_it_shows(colour: bool) -> None:
    plan = make_plan(120, 150, n_colors=30, pattern="bands", symbols="".join(SYMBOLS[:30]))
    rr, cc = np.mgrid[0:150, 0:120]
    plan.grid = ((rr // 30) * 5 + cc // 24 + (rr + cc) % 3 * (rr > 100)).astype(np.int16)  # a few colours a page
    plan.legend = [replace(e, code=f"D{i}") for i, e in enumerate(plan.legend)]  # not a row or column number
    layout = guide_layout(plan, "A4")
    pdf = render_guide(plan, "A4", compress=False, colour=colour)
    streams = _page_streams(pdf, layout.page_count)
    grid = np.asarray(plan.grid)
    assert 0 < layout.legend_pt < page_legend_height(30, "A4")  # room for the most colours a page shows, no more
    assert page_legend_height(most_colours(grid, layout.tiles), "A4") <= layout.legend_pt
    for tile in layout.tiles:
        texts = _texts(streams[layout.first_grid_page - 1 + tile.index])
        shown = set(np.unique(grid[tile.show_row0 : tile.row1, tile.show_col0 : tile.col1]).tolist())
        assert f"Colours on this page ({len(shown)} of 30)".encode() in texts
        for index, entry in enumerate(plan.legend):
            assert (entry.code.encode() in texts) == (index in shown), (tile.index, entry.code)
            assert (entry.name.encode() in texts) == (index in shown)


def test_long_names_wrap_at_spaces_and_are_never_cut() -> None:
    plan = make_plan(40, 40, n_colors=6, pattern="bands", symbols="".join(SYMBOLS[:6]))
    long_name = "Ultra Very Dark Extraordinarily Long Turquoise Green Blue"
    plan.legend[2] = replace(plan.legend[2], name=long_name)
    pdf = render_guide(plan, "A4", compress=False)
    texts = [t.decode("cp1252") for t in shown_text(pdf)]
    assert not any("\u2026" in t for t in texts)  # no ellipsis anywhere
    words = long_name.split()
    # The name shows as consecutive lines of whole words, on the cover and on the grid page.
    runs = 0
    for k, text in enumerate(texts):
        if text and long_name.startswith(text) and text.split() == words[: len(text.split())]:
            lines, joined = [text], text
            while joined != long_name and k + len(lines) < len(texts):
                nxt = texts[k + len(lines)]
                joined = f"{joined} {nxt}"
                lines.append(nxt)
            if joined == long_name:
                runs += 1
                assert len(lines) >= 2
    assert runs == 2


def test_the_black_and_white_guide_is_symbols_only() -> None:
    plan = make_plan(60, 50, n_colors=12, pattern="bands", symbols="".join(SYMBOLS[:12]))
    pdf = render_guide(plan, "A4", compress=False, colour=False)
    fills = re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) rg", pdf)
    assert fills and all(r == g == b for r, g, b in fills)  # greys only (black, white, the greys of the page)
    assert b"/DeviceGray" in pdf  # the cover preview in grey
    coloured = render_guide(plan, "A4", compress=False)
    assert any(not (r == g == b) for r, g, b in re.findall(rb"([\d.]+) ([\d.]+) ([\d.]+) rg", coloured))
    assert render_guide(plan, "A4", colour=False) == render_guide(plan, "A4", colour=False)


def test_shape_symbols_are_drawn_once_and_placed_per_cell() -> None:
    shapes = "".join(SHAPES)
    plan = make_plan(30, 30, n_colors=len(shapes), pattern="random", symbols=shapes)
    layout = guide_layout(plan, "A4", overlap=0)
    assert len(layout.tiles) == 1
    pdf = render_guide(plan, "A4", overlap=0, compress=False)
    grid_stream = _page_streams(pdf, layout.page_count)[layout.first_grid_page - 1]
    placed = re.findall(rb"q 1 0 0 1 [\d.]+ [\d.]+ cm\s*/(\S+) Do\s*Q", grid_stream)
    assert len(placed) == 30 * 30
    assert len(set(placed)) == len(shapes)  # one form per shape at the grid's size
    assert b"/Subtype /Form" in pdf
