"""Cleanup: isolated cells and small same-colour regions merge into the colour around them.

A region is a 4-connected set of cells of one colour. Each pass:

- every region smaller than the threshold (at least 2, so an isolated cell always counts) that touches a region at
  or above it takes the colour it shares the most edges with among those settled neighbours;
- when no small region touches a settled one, small regions that are larger than every small region they touch
  (ties to the lower label) take the colour they share the most edges with.

Ties between colours go to the one closest to the region's own colour (when distances are given), then to the
lowest colour index. Every change joins a region to an unchanged neighbouring region, so each pass lowers the
number of regions and the loop ends; it stops when nothing is small any more, or after a cap of passes.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage  # type: ignore[import-untyped]

_CROSS = ndimage.generate_binary_structure(2, 1)


def components(grid: np.ndarray) -> tuple[np.ndarray, int]:
    """(rows, cols) labels 1..n of the 4-connected same-colour regions, and n.

    One ndimage.label call on a doubled lattice: cells at even positions, and between two 4-neighbours a link
    that is set when their colours are equal.
    """
    rows, cols = grid.shape
    lattice = np.zeros((2 * rows - 1, 2 * cols - 1), dtype=bool)
    lattice[::2, ::2] = True
    lattice[::2, 1::2] = grid[:, 1:] == grid[:, :-1]
    lattice[1::2, ::2] = grid[1:, :] == grid[:-1, :]
    labels, n = ndimage.label(lattice, structure=_CROSS)
    return labels[::2, ::2], int(n)


def isolated_mask(grid: np.ndarray) -> np.ndarray:
    """Cells with no 4-neighbour of their own colour."""
    same = np.zeros(grid.shape, dtype=bool)
    horizontal = grid[:, 1:] == grid[:, :-1]
    vertical = grid[1:, :] == grid[:-1, :]
    same[:, 1:] |= horizontal
    same[:, :-1] |= horizontal
    same[1:, :] |= vertical
    same[:-1, :] |= vertical
    return ~same


def _contacts(grid: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every edge between two different regions, both ways: (region, neighbour region, neighbour colour)."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for a_lab, b_lab, a_col, b_col in (
        (labels[:, :-1], labels[:, 1:], grid[:, :-1], grid[:, 1:]),
        (labels[:-1, :], labels[1:, :], grid[:-1, :], grid[1:, :]),
    ):
        differ = a_lab != b_lab
        la, lb = a_lab[differ], b_lab[differ]
        ca, cb = a_col[differ], b_col[differ]
        parts.append((la, lb, cb))
        parts.append((lb, la, ca))
    region = np.concatenate([p[0] for p in parts])
    other = np.concatenate([p[1] for p in parts])
    colour = np.concatenate([p[2] for p in parts])
    return region.astype(np.int64), other.astype(np.int64), colour.astype(np.int64)


def _majority(
    region: np.ndarray,
    colour: np.ndarray,
    own_colour: np.ndarray,
    n_colours: int,
    distance: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per region present in `region`: the colour with the most contacts (ties: nearest to its own, then lowest)."""
    keys, counts = np.unique(region * n_colours + colour, return_counts=True)
    reg = keys // n_colours
    col = keys % n_colours
    near = distance[own_colour[reg], col] if distance is not None else np.zeros(len(col))
    order = np.lexsort((col, near, -counts, reg))
    reg, col = reg[order], col[order]
    first = np.ones(len(reg), dtype=bool)
    first[1:] = reg[1:] != reg[:-1]
    return reg[first], col[first]


def clean(
    grid: np.ndarray,
    min_region: int = 3,
    distance: np.ndarray | None = None,
    max_passes: int | None = None,
) -> np.ndarray:
    """A copy of the (rows, cols) colour-index grid with small regions merged away (see the module docstring).

    distance: optional (n, n) colour-to-colour distances for tie-breaks (e.g. CIEDE2000 between legend colours).
    """
    out = np.array(grid, dtype=np.int64, copy=True)
    if out.ndim != 2 or out.size < 2:
        return out
    threshold = max(int(min_region), 2)
    n_colours = int(out.max()) + 1
    if distance is not None and distance.shape[0] < n_colours:
        raise ValueError("the distance matrix does not cover every colour of the grid")
    passes = max_passes if max_passes is not None else 4 * (out.shape[0] + out.shape[1]) + 16
    for _ in range(passes):
        labels, n = components(out)
        if n <= 1:
            break
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = sizes < threshold
        small[0] = False
        if not small.any():
            break
        flat_labels = labels.ravel()
        own = np.zeros(n + 1, dtype=np.int64)
        own[flat_labels] = out.ravel()
        region, other, colour = _contacts(out, labels)
        from_small = small[region]
        anchored = from_small & ~small[other]
        if anchored.any():
            reg, col = _majority(region[anchored], colour[anchored], own, n_colours, distance)
        else:
            # No small region touches a settled one: change the small regions that outrank every small neighbour.
            rank = sizes.astype(np.int64) * (n + 1) - np.arange(n + 1)  # larger first, then lower label
            pair = from_small & small[other]
            beaten = np.zeros(n + 1, dtype=bool)
            beaten[region[pair & (rank[other] > rank[region])]] = True
            movers = small & ~beaten
            movers[0] = False
            keep = from_small & movers[region]
            if not keep.any():
                break
            reg, col = _majority(region[keep], colour[keep], own, n_colours, distance)
        new_colour = own.copy()
        new_colour[reg] = col
        out = new_colour[labels]
    return out
