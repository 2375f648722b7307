"""Previews of a dot plan: the canvas drawn as drills (round or square, lightly shaded) with light gaps between them.

Faithful on average: each legend colour's drill texture (gap, facets, glint) is a pattern of zero mean added to the
colour, so a cell averaged over its pixels is the plan's colour (to within rounding; the darkest and lightest colours,
which have no room for the pattern, show it weaker). What the customer sees from a distance is what they will get.

Fast and deterministic, with no per-cell drawing: a small antialiased texture of one drill is built per legend colour
(sampled at quarter-pixel sub-positions when a cell is a fractional number of pixels), and every pixel of the preview
is one numpy lookup into those textures by its cell's colour and its position inside the cell. Equal cells give equal
pixels, which the plain PNG writer here compresses fast.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from typing import Literal

import numpy as np
from PIL import Image

from pixmill.canvas.types import CanvasError, DotPlan

GAP_LIFT = 48.0
"""How much lighter than the drills (sRGB levels) the canvas shows between them, before the pattern is centred."""

SHADE_LEVELS = 110.0
"""sRGB levels of the darkest facet's shadow, before the pattern is centred."""

_MIN_AMPLITUDE = 0.5
"""The pattern's strength never drops below this share, even where the colour has no room for it (black, white)."""

MAX_PREVIEW_PX = 16384
"""Longest side a preview may have."""

MAX_PREVIEW_PIXELS = 24_000_000
"""Most pixels a preview may have (drawing takes about 16 bytes of memory a pixel)."""

_TEXTURE_BYTES = 4 << 20
"""Most memory the drill textures of one preview may take."""

_MIN_DIRECT_CELL_PX = 2.0
"""Below this many pixels a cell, previews are drawn larger and averaged down."""

DRILL_SHAPES = ("square", "round")

PreviewFormat = Literal["png", "jpeg"]


def check_plan(plan: DotPlan) -> None:
    """Raise CanvasError unless the plan is drawable: grid shape, legend indices, drill shape, pitch."""
    errors: list[dict[str, str]] = []
    grid = np.asarray(plan.grid)
    if plan.cols < 1 or plan.rows < 1:
        errors.append({"field": "cols/rows", "message": f"canvas must have cells, got {plan.cols}x{plan.rows}"})
    if grid.shape != (plan.rows, plan.cols):
        errors.append({"field": "grid", "message": f"grid is {grid.shape}, expected ({plan.rows}, {plan.cols})"})
    if not plan.legend:
        errors.append({"field": "legend", "message": "legend is empty"})
    elif grid.size and (not np.issubdtype(grid.dtype, np.integer) or grid.min() < 0 or grid.max() >= len(plan.legend)):
        errors.append({"field": "grid", "message": f"grid values must index the legend (0..{len(plan.legend) - 1})"})
    if plan.drill_shape not in DRILL_SHAPES:
        errors.append({"field": "drill_shape", "message": f"unknown drill shape {plan.drill_shape!r}"})
    if not plan.cell_mm > 0:
        errors.append({"field": "cell_mm", "message": f"pitch must be positive, got {plan.cell_mm}"})
    if errors:
        raise CanvasError("plan cannot be drawn: " + "; ".join(e["message"] for e in errors), errors)


def legend_rgb(plan: DotPlan) -> np.ndarray:
    """(n, 3) uint8 legend colours, in legend order."""
    return np.array([e.rgb for e in plan.legend], dtype=np.uint8).reshape(-1, 3)


def render_flat(plan: DotPlan) -> Image.Image:
    """The canvas at one pixel per cell (RGB, cols x rows)."""
    check_plan(plan)
    return Image.fromarray(legend_rgb(plan)[np.asarray(plan.grid)], "RGB")


def _shade(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shading values (-1 darker .. +1 lighter) as (m, h) with shaded = rgb * m + 255 * h, never out of range."""
    light = np.clip(s, 0.0, 1.0)
    dark = np.clip(-s, 0.0, 1.0)
    return (1.0 - light) * (1.0 - dark), light


def _drill_fields(shape: str, axis: np.ndarray, sample: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coverage, colour multiplier and white highlight of one drill at the sample positions `axis` (cell units, 0..1,
    the same along x and y); `sample` is the distance between samples, which sets the edge antialiasing."""
    c = axis - 0.5
    p = c[None, :]  # x, right
    q = c[:, None]  # y, down
    glint = 0.42 * np.exp(-((p + 0.17) ** 2 + (q + 0.17) ** 2) / (2 * 0.055**2))
    if shape == "round":
        radius = 0.45
        r = np.sqrt(p * p + q * q)
        dist = r - radius
        # A faceted crown: a ring of 10 flat facets lit from the top left around a flat table.
        facets = 10
        angle = np.arctan2(q, p)
        facet_angle = (np.floor(angle / (2 * math.pi / facets)) + 0.5) * (2 * math.pi / facets)
        light_angle = math.atan2(-1.0, -1.0)
        rim = 0.34 * np.cos(facet_angle - light_angle)
        table = -0.16 * (p + q) / radius
        s = np.where(r > radius * 0.62, rim, table)
    else:
        half, corner = 0.44, 0.1
        ax, ay = np.abs(p) - (half - corner), np.abs(q) - (half - corner)
        dist = np.hypot(np.maximum(ax, 0), np.maximum(ay, 0)) + np.minimum(np.maximum(ax, ay), 0) - corner
        # Four bevel facets (top and left lit, bottom and right in shade) around a flat table.
        bevel = 0.15
        edges = np.stack(np.broadcast_arrays(p + half, q + half, half - p, half - q))  # left, top, right, bottom
        nearest = np.argmin(edges, axis=0)
        facet = np.array([0.26, 0.36, -0.26, -0.38])[nearest]
        table = -0.14 * (p + q) / half
        s = np.where(edges.min(axis=0) < bevel, facet, table)
    coverage = np.clip(0.5 - dist / sample, 0.0, 1.0)
    m, h = _shade(np.broadcast_to(s, coverage.shape))
    h = h + (1.0 - h) * glint
    m = m * (1.0 - glint)
    return coverage, m, h


def _texture_size(cell_px: float, n_colors: int) -> int:
    """Sub-positions per cell side in the drill textures: exact for whole-pixel cells, else a quarter pixel or finer."""
    if abs(cell_px - round(cell_px)) < 1e-9:
        return max(1, round(cell_px))
    cap = max(1, math.isqrt(_TEXTURE_BYTES // (4 * max(1, n_colors))))
    return max(1, min(math.ceil(4 * cell_px), cap))


def drill_textures(plan: DotPlan, cell_px: float, size: int) -> np.ndarray:
    """(n_legend, size, size, 4) uint8 RGBX: each legend colour as one drill with the gap around it.

    Texel (i, j) is what a pixel of an image with `cell_px` pixels per cell shows when its centre falls at
    sub-position ((j + 0.5) / size, (i + 0.5) / size) of a cell: the drill averaged over that pixel's footprint.
    """
    ss = 4 if cell_px < 8 else 3 if cell_px < 24 else 2  # samples per pixel footprint along each axis
    centres = (np.arange(size, dtype=np.float64) + 0.5) / size
    offsets = ((np.arange(ss, dtype=np.float64) + 0.5) / ss - 0.5) / cell_px
    axis = (centres[:, None] + offsets[None, :]).ravel()  # size * ss sample positions
    coverage, m, h = _drill_fields(plan.drill_shape, axis, 1.0 / (cell_px * ss))

    def down(a: np.ndarray) -> np.ndarray:
        return a.reshape(size, ss, size, ss).mean(axis=(1, 3))

    cover = down(coverage)
    # A pattern in sRGB levels, the same for every colour: the shading and glint of the drill over its footprint,
    # the lifted gap around it; centred so that it adds nothing on average over a cell.
    drill = 255.0 * h - SHADE_LEVELS * (1.0 - m)
    pattern = down(coverage * drill) + (1.0 - cover) * GAP_LIFT
    pattern -= pattern.mean()
    rgb = legend_rgb(plan).astype(np.float64)
    # Per colour, the strength that keeps the pattern inside 0..255 (one strength for all channels: no hue shift).
    up, down_ = max(float(pattern.max()), 1e-9), max(float(-pattern.min()), 1e-9)
    room = np.minimum((255.0 - rgb) / up, rgb / down_).min(axis=1)
    amplitude = np.clip(room, _MIN_AMPLITUDE, 1.0).astype(np.float32)
    texels = rgb.astype(np.float32)[:, None, None, :] + (
        amplitude[:, None, None, None] * pattern.astype(np.float32)[None, :, :, None]
    )
    tex = np.full((len(plan.legend), size, size, 4), 255, dtype=np.uint8)
    tex[..., :3] = np.clip(np.rint(texels), 0, 255)  # only the darkest and lightest colours clip (a little)
    return tex


def _axis_map(length_px: int, cells: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel along an axis: the cell its centre falls in and the texture sub-position there.

    Exact integer arithmetic, so that equal cells give equal pixels (which PNG compresses well).
    """
    twice_centre = (2 * np.arange(length_px, dtype=np.int64) + 1) * cells  # pixel centre * 2 * length_px
    cell = np.minimum(twice_centre // (2 * length_px), cells - 1)
    sub = np.clip(((twice_centre - cell * 2 * length_px) * size) // (2 * length_px), 0, size - 1)
    return cell, sub


def preview_size(plan: DotPlan, width_px: int) -> tuple[int, int]:
    """(width, height) of a preview `width_px` wide: the height follows the canvas aspect."""
    return width_px, max(1, round(width_px * plan.rows / plan.cols))


def _assemble(plan: DotPlan, width: int, height: int) -> np.ndarray:
    """(height, width, 4) uint8 RGBX pixels of the drills, one texture lookup per pixel."""
    cell_px = width / plan.cols
    size = _texture_size(cell_px, len(plan.legend))
    tex = drill_textures(plan, cell_px, size).view(np.uint32).reshape(-1)  # one RGBX word per texel
    col_cell, col_sub = _axis_map(width, plan.cols, size)
    row_cell, row_sub = _axis_map(height, plan.rows, size)
    base = np.asarray(plan.grid).astype(np.int32) * np.int32(size * size)
    # Texel index of each pixel, built per cell row along x first (small), then expanded down the rows.
    along_x = base[:, col_cell] + col_sub.astype(np.int32)[None, :]
    index = along_x[row_cell]
    index += (row_sub.astype(np.int32) * np.int32(size))[:, None]
    return tex[index].view(np.uint8).reshape(height, width, 4)


def _render_rgbx(plan: DotPlan, width_px: int) -> np.ndarray:
    check_plan(plan)
    if width_px < 1:
        raise CanvasError(f"preview width must be at least 1 px, got {width_px}")
    width, height = preview_size(plan, width_px)
    if max(width, height) > MAX_PREVIEW_PX or width * height > MAX_PREVIEW_PIXELS:
        raise CanvasError(
            f"preview {width}x{height} is too large (at most {MAX_PREVIEW_PX} px a side, {MAX_PREVIEW_PIXELS:,} pixels)"
        )
    if width / plan.cols >= _MIN_DIRECT_CELL_PX:
        return _assemble(plan, width, height)
    # Cells smaller than a couple of pixels: draw at two pixels a cell and let Pillow average them down.
    big = Image.fromarray(_assemble(plan, plan.cols * 2, plan.rows * 2), "RGBA")
    return np.asarray(big.resize((width, height), Image.Resampling.BOX))


def render_preview_image(plan: DotPlan, width_px: int) -> Image.Image:
    """The canvas drawn as drills, `width_px` wide (RGB)."""
    return Image.fromarray(_render_rgbx(plan, width_px), "RGBA").convert("RGB")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """A PNG of (h, w, 3) RGB or (h, w, 4) RGBX pixels (the fourth channel is dropped), no per-row filter.

    Drill pictures repeat the same cells over and over, which deflate finds as long matches without filtering; this is
    several times faster than Pillow's adaptive filtering for these images and no larger.
    """
    height, width = pixels.shape[:2]
    mode = "RGBX" if pixels.shape[2] == 4 else "RGB"
    rgb = Image.frombuffer(mode, (width, height), np.ascontiguousarray(pixels), "raw", mode, 0, 1).tobytes("raw", "RGB")
    raw = np.zeros((height, width * 3 + 1), dtype=np.uint8)  # a 0 (no filter) byte opens each row
    raw[:, 1:] = np.frombuffer(rgb, dtype=np.uint8).reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlace
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), compress_level)),
            _png_chunk(b"IEND", b""),
        )
    )


def render_preview(
    plan: DotPlan,
    width_px: int,
    fmt: PreviewFormat = "png",
    quality: int = 90,
    png_compress_level: int = 1,
) -> bytes:
    """The canvas drawn as drills `width_px` wide, as PNG or JPEG (`quality` applies to JPEG). Same plan, same bytes."""
    if fmt not in ("png", "jpeg"):
        raise CanvasError(f"unknown preview format {fmt!r} (png or jpeg)")
    if fmt == "jpeg" and not 1 <= quality <= 100:
        raise CanvasError(f"JPEG quality must be 1..100, got {quality}")
    if not 0 <= png_compress_level <= 9:
        raise CanvasError(f"PNG compress level must be 0..9, got {png_compress_level}")
    pixels = _render_rgbx(plan, width_px)
    if fmt == "png":
        return encode_png(pixels, png_compress_level)
    height, width = pixels.shape[:2]
    image = Image.frombuffer("RGBX", (width, height), pixels, "raw", "RGBX", 0, 1)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return out.getvalue()
