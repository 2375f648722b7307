"""The printable PDF guide of a dot plan.

Pages, in order:
  1. the cover: preview, canvas facts and the start of the legend;
  2. the rest of the legend, if it does not fit on the cover;
  3. the symbol grid, tiled over pages (`tile_layout`): every cell's symbol (vector text, or a vector shape) on a light
     tint of its colour, row and column numbers on all four edges, a bold line every 10 cells, the last few columns
     and rows of the pages to the left and above repeated (washed out, behind a dashed line), a page map, and at the
     foot the legend of the colours on that page (symbol, code, name), so a page can be worked on its own;
  4. optionally (`scale_print=True`) the canvas at its real pitch, tiled over pages without overlap, to lay under or
     beside the canvas.

`colour=False` gives the black-and-white variant: symbols only (white cells, black symbols, no colour swatches, a grey
preview), for printing on a monochrome printer or reading without colour.

Long colour names wrap at spaces (in a smaller size where needed), never cut mid-word.

Deterministic: the same plan and options give byte-identical PDFs (reportlab's invariant mode fixes the creation date
and the document ID).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from pixmill.canvas.legend import SHAPES, Shape
from pixmill.canvas.preview import check_plan, render_preview_image
from pixmill.canvas.types import CanvasError, DotPlan, LegendEntry

MM = 72.0 / 25.4
"""Points per millimetre."""

PAPERS: dict[str, tuple[float, float]] = {
    "A4": (210 * MM, 297 * MM),
    "Letter": (8.5 * 72, 11 * 72),
    "A3": (297 * MM, 420 * MM),
}
"""Portrait page sizes in points."""

DEFAULT_CELL_MM = 4.5
"""Cell size of the symbol grid on paper: big enough for a symbol read at arm's length."""
DEFAULT_OVERLAP = 2
DEFAULT_MARGIN_MM = 10.0
DEFAULT_TINT = 0.4
MIN_CELL_MM = 2.0

HEADER_PT = 48.0
"""Height of the band above a grid page's numbers: page number, what the page shows, page map."""
LABEL_PT = 13.0
"""Band for the row and column numbers on each side of a grid."""
FOOTER_PT = 14.0

FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
SYMBOL_FONT = "Helvetica-Bold"

RGB = tuple[float, float, float]
WHITE: RGB = (1.0, 1.0, 1.0)
BLACK: RGB = (0.0, 0.0, 0.0)
OVERLAP_GREY: RGB = (0.84, 0.84, 0.84)
SEAM_RGB: RGB = (0.85, 0.1, 0.1)


# ---------------------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Tile:
    """One page of a tiled grid.

    The page is responsible for cells [col0, col1) x [row0, row1) (its core: the cores of all tiles partition the
    canvas) and also shows the `overlap` columns left of and rows above its core that belong to the neighbouring
    pages: it draws [show_col0, col1) x [show_row0, row1).
    """

    index: int  # 0-based, row-major over the page map
    tile_col: int
    tile_row: int
    col0: int
    col1: int
    row0: int
    row1: int
    show_col0: int
    show_row0: int

    @property
    def shown_cols(self) -> int:
        return self.col1 - self.show_col0

    @property
    def shown_rows(self) -> int:
        return self.row1 - self.show_row0


def paper_size(paper: str) -> tuple[float, float]:
    """(width, height) in points of a portrait page."""
    try:
        return PAPERS[paper]
    except KeyError:
        raise CanvasError(f"unknown paper {paper!r} (one of {', '.join(PAPERS)})") from None


def grid_area(
    paper: str, margin_pt: float = DEFAULT_MARGIN_MM * MM, legend_pt: float = 0.0
) -> tuple[float, float, float, float]:
    """(left, top, width, height) in points of the space a grid page has for cells, above a page legend band
    `legend_pt` high."""
    width, height = paper_size(paper)
    left = margin_pt + LABEL_PT
    top = height - margin_pt - HEADER_PT - LABEL_PT
    band = legend_pt + PAGE_LEGEND_GAP_PT if legend_pt > 0 else 0.0
    return left, top, width - 2 * (margin_pt + LABEL_PT), height - 2 * margin_pt - HEADER_PT - 2 * LABEL_PT - band


def _split(n: int, capacity: int, overlap: int) -> list[tuple[int, int]]:
    """Cores [start, end) along one axis: as few pages as fit; on multiples of 10 where that costs no page and leaves
    the last page at least half full, else as even as can be."""
    if n <= capacity:
        return [(0, n)]
    room = capacity - overlap
    if room < 1:
        raise CanvasError(f"a page holds {capacity} cells, too few for an overlap of {overlap}")
    pages = math.ceil(n / room)
    per = math.ceil(n / pages)
    aligned = math.ceil(per / 10) * 10
    if aligned <= room and math.ceil(n / aligned) == pages and n - (pages - 1) * aligned >= aligned / 2:
        return [(i * aligned, min(n, (i + 1) * aligned)) for i in range(pages)]
    return [(i * n // pages, (i + 1) * n // pages) for i in range(pages)]


def tile_layout(
    cols: int,
    rows: int,
    paper: str,
    cell_pt: float,
    overlap: int,
    margin_pt: float = DEFAULT_MARGIN_MM * MM,
    legend_pt: float = 0.0,
) -> list[Tile]:
    """Tiles (row-major) covering a cols x rows grid drawn at `cell_pt` points a cell on `paper`.

    Every cell lies in exactly one tile's core; a tile shows at most the cells that fit its page, including the
    `overlap` leading columns and rows repeated from the tiles to its left and above.
    """
    if cols < 1 or rows < 1:
        raise CanvasError(f"grid must have cells, got {cols}x{rows}")
    if not cell_pt > 0:
        raise CanvasError(f"cell size must be positive, got {cell_pt}")
    if overlap < 0:
        raise CanvasError(f"overlap must be 0 or more, got {overlap}")
    _, _, width, height = grid_area(paper, margin_pt, legend_pt)
    cap_x, cap_y = math.floor(width / cell_pt + 1e-9), math.floor(height / cell_pt + 1e-9)
    if cap_x < 1 or cap_y < 1:
        raise CanvasError(f"a {cell_pt / MM:.1f} mm cell does not fit on {paper}")
    xs, ys = _split(cols, cap_x, overlap), _split(rows, cap_y, overlap)
    tiles: list[Tile] = []
    for ty, (r0, r1) in enumerate(ys):
        for tx, (c0, c1) in enumerate(xs):
            tiles.append(
                Tile(
                    index=len(tiles),
                    tile_col=tx,
                    tile_row=ty,
                    col0=c0,
                    col1=c1,
                    row0=r0,
                    row1=r1,
                    show_col0=max(0, c0 - overlap),
                    show_row0=max(0, r0 - overlap),
                )
            )
    return tiles


@dataclass(frozen=True)
class CoverGeometry:
    preview: tuple[float, float, float, float]  # left, bottom, width, height of the box the preview fits in
    facts_left: float
    legend_top: float  # first legend row's top on the cover


PAGE_LEGEND_ENTRY_PT = 13.5
"""Height of one entry of a grid page's legend: the symbol, the code and up to two lines of name."""
PAGE_LEGEND_HEAD_PT = 11.0
PAGE_LEGEND_GAP_PT = 8.0
PAGE_LEGEND_MIN_COL_PT = 100.0
PAGE_LEGEND_GUTTER_PT = 8.0


def page_legend_columns(paper: str, margin_pt: float = DEFAULT_MARGIN_MM * MM) -> int:
    content_w = paper_size(paper)[0] - 2 * margin_pt
    return max(1, int((content_w + PAGE_LEGEND_GUTTER_PT) // (PAGE_LEGEND_MIN_COL_PT + PAGE_LEGEND_GUTTER_PT)))


def page_legend_height(n_entries: int, paper: str, margin_pt: float = DEFAULT_MARGIN_MM * MM) -> float:
    """Points a grid page keeps at its foot for a legend of up to `n_entries` colours."""
    if n_entries <= 0:
        return 0.0
    return PAGE_LEGEND_HEAD_PT + math.ceil(n_entries / page_legend_columns(paper, margin_pt)) * PAGE_LEGEND_ENTRY_PT


LEGEND_ROW_PT = 14.0
LEGEND_MIN_COL_PT = 250.0
LEGEND_GUTTER_PT = 16.0
LEGEND_HEAD_PT = 34.0  # title and column headings above the rows


def _cover_geometry(paper: str, margin_pt: float) -> CoverGeometry:
    width, height = paper_size(paper)
    content_w = width - 2 * margin_pt
    top = height - margin_pt - 30.0
    box_h = 0.4 * (height - 2 * margin_pt - FOOTER_PT)
    box_w = 0.56 * content_w
    return CoverGeometry(
        preview=(margin_pt, top - box_h, box_w, box_h), facts_left=margin_pt + box_w + 18, legend_top=top - box_h - 20
    )


def legend_columns(paper: str, margin_pt: float = DEFAULT_MARGIN_MM * MM) -> int:
    content_w = paper_size(paper)[0] - 2 * margin_pt
    return max(1, min(3, int((content_w + LEGEND_GUTTER_PT) // (LEGEND_MIN_COL_PT + LEGEND_GUTTER_PT))))


def legend_layout(n_entries: int, paper: str, margin_pt: float = DEFAULT_MARGIN_MM * MM) -> list[tuple[int, int]]:
    """Legend entries [start, end) on each legend page; the first page is the cover (which may hold none)."""
    _, height = paper_size(paper)
    bottom = margin_pt + FOOTER_PT
    ncols = legend_columns(paper, margin_pt)
    cover_rows = max(0, int((_cover_geometry(paper, margin_pt).legend_top - LEGEND_HEAD_PT - bottom) // LEGEND_ROW_PT))
    page_rows = int((height - margin_pt - LEGEND_HEAD_PT - bottom) // LEGEND_ROW_PT)
    pages = [(0, min(n_entries, cover_rows * ncols))]
    while pages[-1][1] < n_entries:
        start = pages[-1][1]
        pages.append((start, min(n_entries, start + page_rows * ncols)))
    return pages


@dataclass(frozen=True)
class GuideLayout:
    """Every page of a guide: the cover and legend pages, the grid tiles and the 1:1 print tiles."""

    paper: str
    margin_pt: float
    cell_pt: float
    overlap: int
    legend_pt: float  # the legend band at the foot of each grid page
    scale_legend_pt: float  # and of each 1:1 print page
    legend_pages: list[tuple[int, int]]
    tiles: list[Tile]
    scale_tiles: list[Tile]

    @property
    def first_grid_page(self) -> int:
        """1-based page number of the first grid tile."""
        return len(self.legend_pages) + 1

    @property
    def first_scale_page(self) -> int:
        return self.first_grid_page + len(self.tiles)

    @property
    def page_count(self) -> int:
        return len(self.legend_pages) + len(self.tiles) + len(self.scale_tiles)


def guide_layout(
    plan: DotPlan,
    paper: str = "A4",
    cell_mm: float = DEFAULT_CELL_MM,
    overlap: int = DEFAULT_OVERLAP,
    scale_print: bool = False,
    margin_mm: float = DEFAULT_MARGIN_MM,
) -> GuideLayout:
    """The pages a guide of `plan` will have (see `render_guide`)."""
    paper_size(paper)
    if not cell_mm >= MIN_CELL_MM:
        raise CanvasError(f"grid cells must be at least {MIN_CELL_MM} mm, got {cell_mm}")
    if not 0 <= margin_mm <= 40:
        raise CanvasError(f"margin must be 0..40 mm, got {margin_mm}")
    margin_pt = margin_mm * MM
    cell_pt = cell_mm * MM
    grid = np.asarray(plan.grid)
    n = len(plan.legend)
    full_pt = page_legend_height(n, paper, margin_pt)
    if grid_area(paper, margin_pt, full_pt)[3] < 0.4 * grid_area(paper, margin_pt)[3]:
        raise CanvasError(f"{n} colours leave too little of a {paper} page for the grid: use A3")

    def layout(pt: float, cell: float, repeat: int) -> list[Tile]:
        return tile_layout(plan.cols, plan.rows, paper, cell, repeat, margin_pt, pt)

    # Each grid page keeps room at its foot for the colours it shows: as many as the page showing the most (tried
    # with less room first; more room means fewer cells a page, so a layout is taken only when its pages fit).
    tiles, legend_pt = layout(full_pt, cell_pt, overlap), full_pt
    want = most_colours(grid, tiles)
    for _ in range(4):
        if page_legend_height(want, paper, margin_pt) >= legend_pt:
            break
        trial_pt = page_legend_height(want, paper, margin_pt)
        trial = layout(trial_pt, cell_pt, overlap)
        need = most_colours(grid, trial)
        if page_legend_height(need, paper, margin_pt) <= trial_pt:
            tiles, legend_pt = trial, trial_pt
            break
        want = need
    scale_tiles = layout(full_pt, plan.cell_mm * MM, 0) if scale_print else []
    return GuideLayout(
        paper=paper,
        margin_pt=margin_pt,
        cell_pt=cell_pt,
        overlap=overlap,
        legend_pt=legend_pt,
        scale_legend_pt=page_legend_height(most_colours(grid, scale_tiles), paper, margin_pt) if scale_tiles else 0.0,
        legend_pages=legend_layout(n, paper, margin_pt),
        tiles=tiles,
        scale_tiles=scale_tiles,
    )


def most_colours(grid: np.ndarray, tiles: Sequence[Tile]) -> int:
    """The most colours any of `tiles` shows (overlap included)."""
    return max(
        (len(np.unique(grid[t.show_row0 : t.row1, t.show_col0 : t.col1])) for t in tiles),
        default=0,
    )


# ---------------------------------------------------------------------------------------------------------- colour


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """a * (1 - t) + b * t."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _luminance(rgb: RGB) -> float:
    """WCAG relative luminance of an sRGB colour (0..1 channels)."""

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2])


def text_colour(fill: RGB) -> RGB:
    """Black or white, whichever contrasts more with `fill` (WCAG contrast ratio)."""
    lum = _luminance(fill)
    return BLACK if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else WHITE


def _rgb(entry: LegendEntry) -> RGB:
    return (entry.rgb[0] / 255, entry.rgb[1] / 255, entry.rgb[2] / 255)


@dataclass(frozen=True)
class _CellStyle:
    tint: float  # 0 white cells .. 1 the full colour
    symbols: bool
    thin_lines: bool
    font_ratio: float  # symbol size / cell size
    colour: bool = True  # False: black and white, symbols only

    def fill(self, entry: LegendEntry) -> RGB:
        return _mix(WHITE, _rgb(entry), self.tint) if self.colour else WHITE


def _overlap_fill(fill: RGB) -> RGB:
    return _mix(fill, OVERLAP_GREY, 0.6)


def _fmt_num(n: float) -> str:
    return f"{n:,.1f}" if n != int(n) else f"{int(n):,}"


def _fit(text: str, font: str, size: float, width: float) -> str:
    """`text`, cut with an ellipsis to fit `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text + "\u2026"


def _name_lines(name: str, width: float, sizes: Sequence[float], max_lines: int) -> tuple[float, list[str]]:
    """The largest of `sizes` at which `name`, broken at spaces only, fits `width` in at most `max_lines` lines (the
    smallest size when none does): never a word cut."""
    lines: list[str] = [name]
    for size in sizes:
        lines = _wrap_words(name, FONT, size, width)
        if len(lines) <= max_lines and all(stringWidth(line, FONT, size) <= width for line in lines):
            return size, lines
    return sizes[-1], lines


def _wrap_words(text: str, font: str, size: float, width: float, sep: str | None = None) -> list[str]:
    """`text` broken at spaces into lines no wider than `width` where the words allow (a long word keeps its line);
    `sep=" "` keeps runs of spaces within a line."""
    lines: list[str] = []
    line = ""
    for word in text.split(sep):
        candidate = f"{line} {word}" if line else word
        if stringWidth(candidate, font, size) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return lines


# ---------------------------------------------------------------------------------------------------------- symbols

SHAPE_SCALE = 0.55
"""A shape's radius / the symbol size (a text symbol's em)."""


def _polygon(path: Any, points: Sequence[tuple[float, float]]) -> None:
    path.moveTo(*points[0])
    for point in points[1:]:
        path.lineTo(*point)
    path.close()


def _ring(cx: float, cy: float, radii: Sequence[float], start: float, n: int) -> list[tuple[float, float]]:
    """n points around (cx, cy) from angle `start` (radians, counter-clockwise), radii taken in turn."""
    return [
        (
            cx + radii[k % len(radii)] * math.cos(start + 2 * math.pi * k / n),
            cy + radii[k % len(radii)] * math.sin(start + 2 * math.pi * k / n),
        )
        for k in range(n)
    ]


def _cross(cx: float, cy: float, reach: float, half: float, angle: float) -> list[tuple[float, float]]:
    """A plus sign's outline (arms `reach` long, `half` half-wide), turned by `angle`."""
    corners = [
        (half, half), (reach, half), (reach, -half), (half, -half), (half, -reach), (-half, -reach),
        (-half, -half), (-reach, -half), (-reach, half), (-half, half), (-half, reach), (half, reach),
    ]  # fmt: skip
    cos, sin = math.cos(angle), math.sin(angle)
    return [(cx + x * cos - y * sin, cy + x * sin + y * cos) for x, y in corners]


def _heart(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    scale = r / 16.5
    points = []
    for k in range(32):
        t = 2 * math.pi * k / 32
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        points.append((cx + x * scale, cy + (y + 2.5) * scale))
    return points


def add_shape(filled: Any, stroked: Any, shape: Shape, cx: float, cy: float, r: float) -> None:
    """Add `shape` centred on (cx, cy) with radius `r` to the path that fills (filled shapes) or strokes (open)."""
    path = filled if shape.filled else stroked
    kind = shape.kind
    if kind == "disc":
        path.circle(cx, cy, 0.85 * r)
    elif kind == "square":
        path.rect(cx - 0.75 * r, cy - 0.75 * r, 1.5 * r, 1.5 * r)
    elif kind == "triangle_up":
        _polygon(path, [(cx, cy + 0.95 * r), (cx - 0.95 * r, cy - 0.72 * r), (cx + 0.95 * r, cy - 0.72 * r)])
    elif kind == "triangle_down":
        _polygon(path, [(cx, cy - 0.95 * r), (cx + 0.95 * r, cy + 0.72 * r), (cx - 0.95 * r, cy + 0.72 * r)])
    elif kind == "diamond":
        _polygon(path, [(cx, cy + r), (cx + 0.75 * r, cy), (cx, cy - r), (cx - 0.75 * r, cy)])
    elif kind == "star":
        _polygon(path, _ring(cx, cy - 0.08 * r, (1.05 * r, 0.45 * r), math.pi / 2, 10))
    elif kind == "plus":
        _polygon(path, _cross(cx, cy, 0.95 * r, 0.3 * r, 0.0))
    elif kind == "cross":
        _polygon(path, _cross(cx, cy, 1.0 * r, 0.27 * r, math.pi / 4))
    elif kind == "heart":
        _polygon(path, _heart(cx, cy, r))
    elif kind == "half_disc":
        stroked.circle(cx, cy, 0.8 * r)
        _polygon(filled, [(cx, cy + 0.8 * r), *_ring(cx, cy, (0.8 * r,), math.pi / 2, 32)[:17]])
    elif kind == "hexagon":
        _polygon(path, _ring(cx, cy, (0.92 * r,), math.pi / 2, 6))
    elif kind == "bar":
        path.rect(cx - 0.3 * r, cy - 0.9 * r, 0.6 * r, 1.8 * r)
    else:
        raise ValueError(f"unknown shape {kind!r}")


def stroke_width(size: float) -> float:
    """Line width of open shapes drawn at symbol size `size`."""
    return 0.15 * size


def draw_symbol(c: Any, symbol: str, cx: float, cy: float, size: float, ink: RGB) -> None:
    """One symbol centred on (cx, cy) at symbol size `size` (points), as the grid draws it."""
    shape = SHAPES.get(symbol)
    c.setFillColorRGB(*ink)
    if shape is None:
        c.setFont(SYMBOL_FONT, size)
        c.drawCentredString(cx, cy - 0.36 * size, symbol)
        return
    filled, stroked = c.beginPath(), c.beginPath()
    add_shape(filled, stroked, shape, cx, cy, SHAPE_SCALE * size)
    c.setStrokeColorRGB(*ink)
    c.setLineWidth(stroke_width(size))
    c.setLineJoin(1)
    c.drawPath(filled, stroke=0, fill=1)
    c.drawPath(stroked, stroke=1, fill=0)
    c.setLineJoin(0)


# ---------------------------------------------------------------------------------------------------------- drawing


class _Guide:
    def __init__(self, plan: DotPlan, layout: GuideLayout, style: _CellStyle, title: str, compress: bool) -> None:
        self.plan = plan
        self.layout = layout
        self.style = style
        self.title = title
        self.grid = np.asarray(plan.grid)
        self.width, self.height = paper_size(layout.paper)
        self.margin = layout.margin_pt
        self.buf = io.BytesIO()
        self.c = Canvas(self.buf, pagesize=(self.width, self.height), invariant=1, pageCompression=1 if compress else 0)
        self.c.setTitle(title)
        self.c.setAuthor("pixmill")
        self.c.setCreator("pixmill canvas guide")
        self.c.setSubject(f"{plan.cols} x {plan.rows} paint-by-dots canvas, palette {plan.palette_name}")
        self.page = 0
        self._forms: set[str] = set()

    # ------------------------------------------------------------------ common

    def _footer(self, text: str = "") -> None:
        c = self.c
        c.setFont(FONT, 7)
        c.setFillGray(0.4)
        c.drawString(self.margin, self.margin, text)
        c.drawRightString(self.width - self.margin, self.margin, f"Page {self.page} of {self.layout.page_count}")
        c.setFillGray(0)

    def _new_page(self) -> None:
        if self.page:
            self.c.showPage()
        self.page += 1

    # ------------------------------------------------------------------ cover and legend

    def cover(self, legend: tuple[int, int]) -> None:
        self._new_page()
        c, plan, geo = self.c, self.plan, _cover_geometry(self.layout.paper, self.margin)
        top = self.height - self.margin
        c.setFont(FONT_BOLD, 18)
        c.drawString(self.margin, top - 18, _fit(self.title, FONT_BOLD, 18, self.width - 2 * self.margin))

        bx, by, bw, bh = geo.preview
        scale = min(bw / plan.cols, bh / plan.rows)
        pw, ph = plan.cols * scale, plan.rows * scale
        px_w = max(plan.cols * 2, min(1400, round(pw / 72 * 200)))  # about 200 dpi, at least 2 px a drill
        image = render_preview_image(plan, px_w)
        if not self.style.colour:
            image = image.convert("L")
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=85)
        jpeg.seek(0)
        c.drawImage(ImageReader(jpeg), bx, by + bh - ph, pw, ph)
        c.setLineWidth(0.5)
        c.rect(bx, by + bh - ph, pw, ph, stroke=1, fill=0)

        w_cm, h_cm = plan.cols * plan.cell_mm / 10, plan.rows * plan.cell_mm / 10
        total = int(sum(e.count for e in plan.legend))
        bags = int(sum(e.bags for e in plan.legend))
        facts = [
            ("Canvas", f"{w_cm:.1f} \u00d7 {h_cm:.1f} cm  ({w_cm / 2.54:.1f} \u00d7 {h_cm / 2.54:.1f} in)"),
            ("Drills", f"{plan.cols} \u00d7 {plan.rows} = {total:,} {plan.drill_shape} drills"),
            ("Pitch", f"{plan.cell_mm:g} mm"),
            ("Palette", f"{plan.palette_name or 'unnamed'}, version {plan.palette_version}"),
            ("Colours", f"{len(plan.legend)} ({bags:,} bags)"),
            (
                "This guide",
                f"{len(self.layout.tiles)} grid pages from page {self.layout.first_grid_page}, "
                f"{self.layout.cell_pt / MM:g} mm a cell",
            ),
        ]
        if self.layout.scale_tiles:
            facts.append(
                ("1:1 print", f"{len(self.layout.scale_tiles)} pages from page {self.layout.first_scale_page}")
            )
        x, y = geo.facts_left, by + bh - 8
        value_w = self.width - self.margin - x
        for label, value in facts:
            c.setFont(FONT_BOLD, 8)
            c.setFillGray(0.35)
            c.drawString(x, y, label.upper())
            c.setFillGray(0)
            y -= 12
            for line in _wrap(value, FONT, 10, value_w):
                c.setFont(FONT, 10)
                c.drawString(x, y, line)
                y -= 12.5
            y -= 7
        notes = [
            "Each grid page repeats, washed out behind a dashed red line, the",
            f"last {self.layout.overlap} columns and rows of the pages to its left and above.",
            "Bold lines every 10 cells; numbers count from 1 at the top left.",
        ]
        c.setFont(FONT, 7.5)
        c.setFillGray(0.35)
        for line in notes if self.layout.overlap else notes[2:]:
            c.drawString(x, y, _fit(line, FONT, 7.5, value_w))
            y -= 10
        c.setFillGray(0)
        self._legend(legend, geo.legend_top, "Legend")
        self._footer(f"{plan.palette_name} v{plan.palette_version}".strip())

    def legend_page(self, legend: tuple[int, int]) -> None:
        self._new_page()
        self._legend(legend, self.height - self.margin, "Legend (continued)")
        self._footer()

    def _legend(self, span: tuple[int, int], top: float, heading: str) -> None:
        start, end = span
        if end <= start:
            return
        c = self.c
        ncols = legend_columns(self.layout.paper, self.margin)
        content_w = self.width - 2 * self.margin
        col_w = (content_w - (ncols - 1) * LEGEND_GUTTER_PT) / ncols
        rows_per_col = math.ceil((end - start) / ncols)
        c.setFont(FONT_BOLD, 12)
        c.drawString(self.margin, top - 12, heading)
        head_y = top - LEGEND_HEAD_PT + 6
        for k in range(ncols):
            if start + k * rows_per_col >= end:
                break
            x = self.margin + k * (col_w + LEGEND_GUTTER_PT)
            c.setFont(FONT_BOLD, 7)
            c.setFillGray(0.35)
            c.drawString(x, head_y, "COLOUR")
            c.drawString(x + 60, head_y, "CODE")
            c.drawString(x + 104, head_y, "NAME")
            c.drawRightString(x + col_w - 34, head_y, "DRILLS")
            c.drawRightString(x + col_w, head_y, "BAGS")
            c.setFillGray(0)
            c.setLineWidth(0.4)
            c.line(x, head_y - 3, x + col_w, head_y - 3)
        for i in range(start, end):
            k, r = divmod(i - start, rows_per_col)
            x = self.margin + k * (col_w + LEGEND_GUTTER_PT)
            y = top - LEGEND_HEAD_PT - (r + 1) * LEGEND_ROW_PT + 4  # text baseline
            self._legend_row(self.plan.legend[i], x, y, col_w)

    def _symbol_box(self, e: LegendEntry, x: float, y: float, size: float) -> None:
        """The symbol as it appears on the grid pages, in a `size` box with its lower left corner at (x, y)."""
        c = self.c
        fill = self.style.fill(e)
        c.setLineWidth(0.3)
        c.setStrokeGray(0.5)
        c.setFillColorRGB(*fill)
        c.rect(x, y, size, size, stroke=1, fill=1)
        draw_symbol(c, e.symbol, x + size / 2, y + size / 2, size * self.style.font_ratio, text_colour(fill))
        c.setStrokeGray(0)
        c.setFillGray(0)

    def _name(self, name: str, x: float, y: float, width: float, size: float, max_lines: int) -> None:
        """`name` from baseline `y` in `width`: on one line at `size`, else wrapped (smaller) in `max_lines` lines
        centred on that line."""
        sizes = [size, *(s for s in (7.5, 6.5, 6.0, 5.5, 5.0, 4.5) if s < size)]
        fit_size, lines = _name_lines(name, width, sizes[:1], 1)
        if len(lines) > 1 or stringWidth(lines[0], FONT, fit_size) > width:
            fit_size, lines = _name_lines(name, width, sizes[1:], max_lines)
        c = self.c
        c.setFont(FONT, fit_size)
        lead = fit_size * 1.08
        first = y + (len(lines) - 1) * lead / 2 + (size - fit_size) * 0.3
        for k, line in enumerate(lines):
            c.drawString(x, first - k * lead, line)

    def _legend_row(self, e: LegendEntry, x: float, y: float, col_w: float) -> None:
        c = self.c
        if self.style.colour:
            c.setLineWidth(0.3)
            c.setStrokeGray(0.5)
            c.setFillColorRGB(*_rgb(e))
            c.rect(x, y - 2.5, 22, 10, stroke=1, fill=1)
        self._symbol_box(e, x + 30, y - 3.25, 11.5)
        c.setFont(FONT_BOLD, 8.5)
        c.drawString(x + 60, y, _fit(e.code, FONT_BOLD, 8.5, 40))
        self._name(e.name, x + 104, y, col_w - 104 - 80, 8.5, 2)
        c.setFont(FONT, 8.5)
        c.drawRightString(x + col_w - 34, y, f"{e.count:,}")
        c.drawRightString(x + col_w, y, f"{e.bags:,}")

    def _page_legend(self, tile: Tile, band_pt: float, top: float) -> None:
        """The colours shown on this grid page, in legend order, in the band from `top` down (below the grid)."""
        layout = self.layout
        if band_pt <= 0:
            return
        c = self.c
        shown = np.unique(self.grid[tile.show_row0 : tile.row1, tile.show_col0 : tile.col1]).tolist()
        ncols = page_legend_columns(layout.paper, self.margin)
        col_w = (self.width - 2 * self.margin - (ncols - 1) * PAGE_LEGEND_GUTTER_PT) / ncols
        rows_per_col = math.ceil(len(shown) / ncols)
        c.setFont(FONT_BOLD, 7.5)
        c.setFillGray(0)
        c.drawString(self.margin, top - 7.5, f"Colours on this page ({len(shown)} of {len(self.plan.legend)})")
        c.setLineWidth(0.4)
        c.setStrokeGray(0.6)
        c.line(self.margin, top - PAGE_LEGEND_HEAD_PT + 1.5, self.width - self.margin, top - PAGE_LEGEND_HEAD_PT + 1.5)
        c.setStrokeGray(0)
        box = 10.0
        for k, index in enumerate(shown):
            col, row = divmod(k, rows_per_col)
            x = self.margin + col * (col_w + PAGE_LEGEND_GUTTER_PT)
            entry_top = top - PAGE_LEGEND_HEAD_PT - row * PAGE_LEGEND_ENTRY_PT
            mid = entry_top - PAGE_LEGEND_ENTRY_PT / 2
            e = self.plan.legend[index]
            self._symbol_box(e, x, mid - box / 2, box)
            c.setFont(FONT_BOLD, 7)
            c.setFillGray(0)
            c.drawString(x + box + 4, mid - 2.5, _fit(e.code, FONT_BOLD, 7, 28))
            name_x = x + box + 34
            self._name(e.name, name_x, mid - 2.3, col_w - (name_x - x), 6.5, 2)

    # ------------------------------------------------------------------ grid pages

    def grid_page(self, tile: Tile, tiles: Sequence[Tile], first_page: int, cell_pt: float, scale: bool) -> None:
        self._new_page()
        band = self.layout.scale_legend_pt if scale else self.layout.legend_pt
        left, top, avail_w, _ = grid_area(self.layout.paper, self.margin, band)
        block_w, block_h = tile.shown_cols * cell_pt, tile.shown_rows * cell_pt
        gx = left + (avail_w - block_w) / 2
        gy = top - block_h  # bottom of the block
        style = (
            _CellStyle(1.0 if self.style.colour else 0.0, True, False, 0.55, self.style.colour) if scale else self.style
        )
        self._cells(tile, gx, top, cell_pt, style)
        self._lines(tile, gx, top, cell_pt, style)
        self._numbers(tile, gx, top, gy, cell_pt)
        self._header(tile, tiles, first_page, scale)
        self._page_legend(tile, band, gy - LABEL_PT - PAGE_LEGEND_GAP_PT / 2)
        if scale:
            self._footer("1:1 print: print at actual size (100 %, no fit-to-page); the bar above must measure 5 cm.")
        else:
            self._footer(f"Symbol grid, {tile.col1 - tile.col0} \u00d7 {tile.row1 - tile.row0} cells on this page")

    def _cells(self, tile: Tile, gx: float, top: float, cell: float, style: _CellStyle) -> None:
        """Fills (one path per fill colour, one rectangle per run of a colour in a row) and symbols."""
        c, legend = self.c, self.plan.legend
        n = len(legend)
        sub = self.grid[tile.show_row0 : tile.row1, tile.show_col0 : tile.col1].astype(np.int64)
        in_overlap = np.zeros(sub.shape, dtype=bool)
        in_overlap[: tile.row0 - tile.show_row0, :] = True
        in_overlap[:, : tile.col0 - tile.show_col0] = True
        keys = sub + n * in_overlap  # colour, or colour + n in the overlap
        fills: dict[int, RGB] = {}
        for key in np.unique(keys).tolist():
            fill = style.fill(legend[key % n])
            fills[key] = _overlap_fill(fill) if key >= n else fill
        paths: dict[int, Any] = {}
        for i in range(keys.shape[0]):
            row = keys[i]
            starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]]).tolist()
            ends = [*starts[1:], row.size]
            y = top - (i + 1) * cell
            for s, e in zip(starts, ends, strict=True):
                key = int(row[s])
                if fills[key] == WHITE:
                    continue
                path = paths.get(key)
                if path is None:
                    path = paths[key] = c.beginPath()
                path.rect(gx + s * cell, y, (e - s) * cell, cell)
        for key in sorted(paths):
            c.setFillColorRGB(*fills[key])
            c.drawPath(paths[key], stroke=0, fill=1)
        if not style.symbols:
            return
        size = cell * style.font_ratio
        widths = {e.symbol: stringWidth(e.symbol, SYMBOL_FONT, size) for e in legend if e.symbol not in SHAPES}
        by_colour: dict[RGB, list[tuple[int, int]]] = {}
        for key in sorted(fills):
            ink = text_colour(fills[key])
            if key >= n and ink == BLACK:
                ink = (0.38, 0.38, 0.38)
            for i, j in zip(*np.nonzero(keys == key), strict=True):
                by_colour.setdefault(ink, []).append((int(i), int(j)))
        baseline = cell / 2 - 0.36 * size
        # Shapes are drawn once each as a form and placed per cell (a few bytes a cell instead of a whole path).
        forms = {e.symbol: self._shape_form(e.symbol, size) for e in legend if e.symbol in SHAPES}
        for ink in sorted(by_colour):
            text = c.beginText()
            text.setFont(SYMBOL_FONT, size)
            text.setFillColorRGB(*ink)
            placed: list[tuple[str, float, float]] = []
            for i, j in sorted(by_colour[ink]):
                symbol = legend[int(sub[i, j])].symbol
                if symbol in forms:
                    placed.append((forms[symbol], gx + (j + 0.5) * cell, top - (i + 0.5) * cell))
                    continue
                text.setTextOrigin(gx + (j + 0.5) * cell - widths[symbol] / 2, top - (i + 1) * cell + baseline)
                text.textOut(symbol)
            c.drawText(text)
            if placed:
                c.setFillColorRGB(*ink)
                c.setStrokeColorRGB(*ink)
                for name, x, y in placed:
                    c.addLiteral(f"q 1 0 0 1 {x:.2f} {y:.2f} cm")
                    c.doForm(name)
                    c.addLiteral("Q")
        c.setStrokeGray(0)

    def _shape_form(self, symbol: str, size: float) -> str:
        """The name of a form that draws the shape `symbol` at symbol size `size` centred on the origin, in the
        colours of the place it is used."""
        name = f"sym{ord(symbol):x}_{size:.3f}".replace(".", "_")
        if name not in self._forms:
            c = self.c
            extent = size
            c.beginForm(name, -extent, -extent, extent, extent)
            filled, stroked = c.beginPath(), c.beginPath()
            add_shape(filled, stroked, SHAPES[symbol], 0.0, 0.0, SHAPE_SCALE * size)
            c.setLineWidth(stroke_width(size))
            c.setLineJoin(1)
            c.drawPath(filled, stroke=0, fill=1)
            c.drawPath(stroked, stroke=1, fill=0)
            c.endForm()
            self._forms.add(name)
        return name

    def _lines(self, tile: Tile, gx: float, top: float, cell: float, style: _CellStyle) -> None:
        c = self.c
        ncols, nrows = tile.shown_cols, tile.shown_rows
        bottom, right = top - nrows * cell, gx + ncols * cell
        xs = [(tile.show_col0 + j, gx + j * cell) for j in range(ncols + 1)]
        ys = [(tile.show_row0 + i, top - i * cell) for i in range(nrows + 1)]
        if style.thin_lines:
            thin = c.beginPath()
            for _, x in xs:
                thin.moveTo(x, bottom)
                thin.lineTo(x, top)
            for _, y in ys:
                thin.moveTo(gx, y)
                thin.lineTo(right, y)
            c.setLineWidth(0.25)
            c.setStrokeGray(0.55)
            c.drawPath(thin, stroke=1, fill=0)
        bold = c.beginPath()
        for col, x in xs:
            if col % 10 == 0 or col == self.plan.cols:
                bold.moveTo(x, bottom)
                bold.lineTo(x, top)
        for row, y in ys:
            if row % 10 == 0 or row == self.plan.rows:
                bold.moveTo(gx, y)
                bold.lineTo(right, y)
        c.setStrokeGray(0)
        c.setLineWidth(1.0)
        c.drawPath(bold, stroke=1, fill=0)
        c.setLineWidth(0.6)
        c.rect(gx, bottom, ncols * cell, nrows * cell, stroke=1, fill=0)
        # The seams with the pages to the left and above.
        c.setStrokeColorRGB(*SEAM_RGB)
        c.setLineWidth(1.4)
        c.setDash(3, 2)
        if tile.show_col0 < tile.col0:
            x = gx + (tile.col0 - tile.show_col0) * cell
            c.line(x, bottom - LABEL_PT, x, top + LABEL_PT)
        if tile.show_row0 < tile.row0:
            y = top - (tile.row0 - tile.show_row0) * cell
            c.line(gx - LABEL_PT, y, right + LABEL_PT, y)
        c.setDash()
        c.setStrokeGray(0)

    def _numbers(self, tile: Tile, gx: float, top: float, bottom: float, cell: float) -> None:
        c = self.c
        size = min(6.5, max(5.0, cell * 0.52))
        widest = stringWidth(str(self.plan.cols), FONT_BOLD, size)
        step = 1 if widest <= cell * 0.95 else 5 if widest <= 5 * cell * 0.9 else 10
        right = gx + tile.shown_cols * cell
        for j in range(tile.shown_cols):
            number = tile.show_col0 + j + 1
            if number % step and number != 1:
                continue
            font = FONT_BOLD if number % 10 == 0 else FONT
            c.setFont(font, size)
            c.setFillGray(0 if number % 10 == 0 else 0.4)
            x = gx + (j + 0.5) * cell
            c.drawCentredString(x, top + 3.5, str(number))
            c.drawCentredString(x, bottom - 3.5 - size * 0.75, str(number))
        row_step = 1 if size * 1.1 <= cell else 5 if size * 1.1 <= 5 * cell else 10
        for i in range(tile.shown_rows):
            number = tile.show_row0 + i + 1
            if number % row_step and number != 1:
                continue
            font = FONT_BOLD if number % 10 == 0 else FONT
            c.setFont(font, size)
            c.setFillGray(0 if number % 10 == 0 else 0.4)
            y = top - (i + 0.5) * cell - 0.36 * size
            c.drawRightString(gx - 3, y, str(number))
            c.drawString(right + 3, y, str(number))
        c.setFillGray(0)

    def _header(self, tile: Tile, tiles: Sequence[Tile], first_page: int, scale: bool) -> None:
        c = self.c
        x, top = self.margin, self.height - self.margin
        map_w, _ = self._page_map(tile, tiles, first_page)
        text_w = self.width - 2 * self.margin - map_w - 12
        c.setFont(FONT_BOLD, 13)
        kind = "1:1 print" if scale else "Symbol grid"
        c.drawString(x, top - 12, f"Page {self.page}  \u00b7  {kind}")
        c.setFont(FONT, 8.5)
        what = (
            f"Columns {tile.col0 + 1}\u2013{tile.col1}, rows {tile.row0 + 1}\u2013{tile.row1} "
            f"of {self.plan.cols} \u00d7 {self.plan.rows}"
        )
        c.drawString(x, top - 25, _fit(what, FONT, 8.5, text_w))
        if scale:
            self._scale_bar(x, top - 40)
            return
        repeats = []
        by_pos = {(t.tile_col, t.tile_row): t for t in tiles}
        if tile.show_col0 < tile.col0:
            repeats.append(
                f"left of the dashed line repeat page {first_page + by_pos[tile.tile_col - 1, tile.tile_row].index}"
            )
        if tile.show_row0 < tile.row0:
            repeats.append(f"above it repeat page {first_page + by_pos[tile.tile_col, tile.tile_row - 1].index}")
        if repeats:
            c.setFont(FONT, 7.5)
            c.setFillGray(0.35)
            c.drawString(x, top - 37, _fit("Washed-out cells " + "; cells ".join(repeats) + ".", FONT, 7.5, text_w))
            c.setFillGray(0)

    def _scale_bar(self, x: float, y: float) -> None:
        c = self.c
        c.setLineWidth(0.8)
        c.setStrokeGray(0)
        c.line(x, y, x + 50 * MM, y)
        c.setFont(FONT, 6)
        for cm in range(6):
            tx = x + cm * 10 * MM
            c.line(tx, y, tx, y + (4 if cm in (0, 5) else 2.5))
        c.drawString(x + 50 * MM + 4, y - 2, "5 cm")

    def _page_map(self, tile: Tile, tiles: Sequence[Tile], first_page: int) -> tuple[float, float]:
        """A small picture of the canvas split into pages, this one filled, at the header's right."""
        c = self.c
        box_w, box_h = 150.0, HEADER_PT - 4
        scale = min(box_w / self.plan.cols, box_h / self.plan.rows)
        w, h = self.plan.cols * scale, self.plan.rows * scale
        x0, y_top = self.width - self.margin - w, self.height - self.margin
        c.setLineWidth(0.4)
        for t in tiles:
            rx, ry = x0 + t.col0 * scale, y_top - t.row1 * scale
            rw, rh = (t.col1 - t.col0) * scale, (t.row1 - t.row0) * scale
            current = t.index == tile.index
            c.setStrokeGray(0.3)
            c.setFillGray(0.2 if current else 1.0)
            c.rect(rx, ry, rw, rh, stroke=1, fill=1)
            label = str(first_page + t.index)
            font = min(6.5, rh * 0.7, (rw - 1) / max(1e-9, stringWidth(label, FONT_BOLD, 1)))
            if font >= 3:
                c.setFont(FONT_BOLD, font)
                c.setFillGray(1.0 if current else 0.35)
                c.drawCentredString(rx + rw / 2, ry + rh / 2 - 0.36 * font, label)
        c.setFillGray(0)
        c.setStrokeGray(0)
        c.setFont(FONT, 6)
        c.setFillGray(0.35)
        c.drawRightString(x0 - 4, y_top - 6, "Page map")
        c.setFillGray(0)
        return w + 40, h

    def finish(self) -> bytes:
        self.c.showPage()
        self.c.save()
        return self.buf.getvalue()


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """`text` broken at spaces into lines no wider than `width` (a too-long word is cut)."""
    return [_fit(x, font, size, width) for x in _wrap_words(text, font, size, width, sep=" ")]


def render_guide(
    plan: DotPlan,
    paper: str = "A4",
    cell_mm: float = DEFAULT_CELL_MM,
    overlap: int = DEFAULT_OVERLAP,
    scale_print: bool = False,
    tint: float = DEFAULT_TINT,
    margin_mm: float = DEFAULT_MARGIN_MM,
    title: str = "Paint-by-dots canvas",
    compress: bool = True,
    colour: bool = True,
) -> bytes:
    """The printable PDF guide of `plan` (see the module docstring); `guide_layout` gives its pages.

    `cell_mm` is the grid's cell size on paper, `overlap` the cells repeated from neighbouring grid pages, `tint` how
    strongly cells are tinted with their colour (0 white .. 1 the full colour), `compress` off leaves the page content
    streams readable, `colour` off gives the black-and-white variant (symbols only).
    """
    check_plan(plan)
    if not 0.0 <= tint <= 1.0:
        raise CanvasError(f"tint must be 0..1, got {tint}")
    layout = guide_layout(plan, paper, cell_mm, overlap, scale_print, margin_mm)
    guide = _Guide(plan, layout, _CellStyle(tint if colour else 0.0, True, True, 0.6, colour), title, compress)
    guide.cover(layout.legend_pages[0])
    for span in layout.legend_pages[1:]:
        guide.legend_page(span)
    for tile in layout.tiles:
        guide.grid_page(tile, layout.tiles, layout.first_grid_page, layout.cell_pt, scale=False)
    for tile in layout.scale_tiles:
        guide.grid_page(tile, layout.scale_tiles, layout.first_scale_page, plan.cell_mm * MM, scale=True)
    return guide.finish()
