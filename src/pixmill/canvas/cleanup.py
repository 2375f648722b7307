"""Cleanup: stray cells merge into a neighbouring colour, small regions only where that costs little colour error.

A region is a 4-connected set of cells of one colour; an isolated cell is a region of one.

1. Isolated (stray) cells. Each takes the colour of one of its four neighbours: the one nearest its *source* colour
   in CIEDE2000 (when the source colours are given), ties to the colour most neighbours have, then to the one
   nearest its own drill colour (when `distance` is given), then to the lowest index. With `pairs`, where it costs
   less colour error, one neighbour takes the stray cell's colour instead and the two stay as a pair (only a
   neighbour whose leaving isolates no cell of its own colour). Changes go cheapest first, in rounds: a change goes
   when no cheaper change lies within two cells of the cell it recolours, so changes in one round never undo each
   other and every changed cell joins an unchanged neighbour. A stray cell whose cheapest change costs more than
   `keep_detail` ΔE00 stays: it is detail (an eye highlight, a glint).
2. Regions smaller than `min_region` (2 cells and more). Each may take a colour it touches: the one whose error over
   its cells, against their source colours, is lowest (ties to the most shared edges, then the lowest index). It
   merges only when that colour's mean error over its cells exceeds their error in the mapped grid by at most
   `max_cost` ΔE00, so an eye highlight or a thin line that the mapping got right stays. A region merges only into
   regions that keep their colour in that pass, so each merge joins it to an unchanged region and can isolate no
   cell; passes repeat until nothing more merges.

Without source colours every stray cell and small region merges (by majority), as a plain despeckle. On 82 photos
(14 faces, CBSD68) at 160x200 cells, DMC, K = 40, the defaults leave 0.7 % of cells isolated and raise the mean
CIEDE2000 from 4.36 to 4.48 (bench/canvas.py); merging every stray cell by majority raised it to 5.49.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage  # type: ignore[import-untyped]

from pixmill.canvas.color import ciede2000

_CROSS = ndimage.generate_binary_structure(2, 1)

MAX_MERGE_COST = 0.5
"""Default `max_cost`: ΔE00 a small region's cells may lose, on average, by merging into a neighbouring colour."""

KEEP_DETAIL = 6.0
"""Default `keep_detail`: an isolated cell whose merge would cost more than this many ΔE00 stays (a highlight)."""

_MAX_REGION_PASSES = 12

_DIAMOND = np.add.outer(np.abs(np.arange(-2, 3)), np.abs(np.arange(-2, 3))) <= 2
"""Cells within two steps (4-connected) of the centre."""

_COST_STEP = 0.25
"""ΔE00 steps in which stray cells are ordered, cheapest first."""


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


def _neighbours(grid: np.ndarray) -> np.ndarray:
    """(4, rows, cols): the colour above, below, left and right of each cell; -1 off the grid."""
    rows, cols = grid.shape
    padded = np.full((rows + 2, cols + 2), -1, dtype=np.int64)
    padded[1:-1, 1:-1] = grid
    return np.stack(
        [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]],
    )


def _same_count(grid: np.ndarray) -> np.ndarray:
    """How many of each cell's four neighbours share its colour."""
    count = np.zeros(grid.shape, dtype=np.int64)
    horizontal = grid[:, 1:] == grid[:, :-1]
    vertical = grid[1:, :] == grid[:-1, :]
    count[:, 1:] += horizontal
    count[:, :-1] += horizontal
    count[1:, :] += vertical
    count[:-1, :] += vertical
    return count


class _DeltaCache:
    """CIEDE2000 between cells' source colours and grid colours, each pair computed once (rounds ask again)."""

    def __init__(self, source: np.ndarray, colours: np.ndarray) -> None:
        self.source = source
        self.colours = colours
        self.values = np.full((len(source), len(colours)), np.nan)

    def __call__(self, cells: np.ndarray, colour: np.ndarray) -> np.ndarray:
        got = self.values[cells, colour]
        missing = np.isnan(got)
        if missing.any():
            c, k = cells[missing], colour[missing]
            got[missing] = self.values[c, k] = ciede2000(self.source[c], self.colours[k])
        return got


def _merge_isolated(
    out: np.ndarray,
    source: np.ndarray | None,
    colours: np.ndarray | None,
    distance: np.ndarray | None,
    keep_detail: float,
    pairs: bool,
) -> None:
    """Step 1, in place."""
    rows, cols = out.shape
    flat = out.reshape(-1)
    index = np.arange(out.size, dtype=np.int64).reshape(rows, cols)
    neighbour_index = _neighbours(index).reshape(4, -1)  # cell index of each neighbour, -1 off the grid
    src_flat = source.reshape(-1, 3) if source is not None else None
    delta = _DeltaCache(src_flat, colours) if src_flat is not None and colours is not None else None
    for _ in range(out.size):
        same = _same_count(out).reshape(-1)
        cells = np.flatnonzero(same == 0)
        if not len(cells):
            return
        near = neighbour_index[:, cells].T  # (m, 4) neighbour cells, -1 off the grid
        valid = near >= 0
        cand = np.where(valid, flat[near], -1)  # their colours
        safe = np.where(valid, cand, 0)
        # Neighbours of one colour count together: how many of the four share each candidate's colour.
        count = (cand[:, :, None] == cand[:, None, :]).sum(axis=2)
        own = flat[cells]
        if delta is not None:
            near_source = delta(np.repeat(cells, 4), safe.ravel()).reshape(-1, 4)
            cost = near_source - delta(cells, own)[:, None]
        else:
            near_source = np.zeros(cand.shape)
            cost = near_source
        near_own = distance[own[:, None], safe] if distance is not None else np.zeros(cand.shape)
        # Per cell, its four candidates ordered by (source distance, -count, own distance, index); off-grid last.
        order = np.lexsort((safe, near_own, -count, np.where(valid, near_source, np.inf)), axis=-1)
        rank = np.arange(len(cells))
        first = order[:, 0]
        colour = cand[rank, first]  # the neighbouring colour the cell takes
        best = cost[rank, first]
        changed = cells.copy()  # the cell that changes colour
        if pairs and delta is not None:
            # Or a neighbour takes the stray cell's colour, and the two stay as a pair: allowed where the neighbour
            # leaves no cell of its colour isolated.
            flat_same = np.append(same, 0)
            lonely = np.zeros(out.size + 1, dtype=bool)  # cells that keep another cell from being isolated
            for direction in range(4):
                other = neighbour_index[direction]
                lonely[: out.size] |= (other >= 0) & (flat[other] == flat) & (flat_same[other] == 1)
            safe_near = np.where(valid, near, out.size)
            ok = valid & ~lonely[safe_near]
            pair_cost = np.full(cand.shape, np.inf)
            rows_ok, cols_ok = np.nonzero(ok)
            if len(rows_ok):
                y = near[rows_ok, cols_ok]
                a = own[rows_ok]
                pair_cost[rows_ok, cols_ok] = delta(y, a) - delta(y, flat[y])
            k = np.argmin(pair_cost, axis=1)
            better = pair_cost[rank, k] < best
            best = np.where(better, pair_cost[rank, k], best)
            changed = np.where(better, near[rank, k], changed)
            colour = np.where(better, own, colour)
        # Cheapest changes first: a change goes in this round when no change within two cells of the cell it
        # recolours would cost less (two changes further apart cannot undo each other: each only needs its
        # neighbours, and their neighbours, to stay as they are).
        best[best > keep_detail] = np.inf  # detail: stays
        live = np.isfinite(best)
        key = np.full(len(cells), np.inf)
        # Costs in steps of _COST_STEP, then a fixed scramble of the cell index: cheapest first, without long chains
        # of slightly cheaper neighbours (each would cost a round).
        order_all = np.lexsort(((cells * 2654435761) % 4294967296, np.floor(np.where(live, best, 0.0) / _COST_STEP)))
        order_all = order_all[live[order_all]]
        key[order_all] = np.arange(len(order_all))
        at = np.full(out.size, np.inf)
        np.minimum.at(at, changed[live], key[live])
        lowest = ndimage.minimum_filter(
            at.reshape(rows, cols), footprint=_DIAMOND, mode="constant", cval=np.inf
        ).reshape(-1)
        go = live & (key == lowest[changed])
        if not go.any():
            return
        flat[changed[go]] = colour[go]


def _merge_small(
    out: np.ndarray,
    threshold: int,
    source: np.ndarray | None,
    colours: np.ndarray | None,
    baseline: np.ndarray | None,
    max_cost: float,
) -> None:
    """Step 2, in place."""
    n_colours = int(out.max()) + 1 if colours is None else len(colours)
    rejected: set[tuple[int, int, int]] = set()  # (first cell, size, colour) of regions that may not merge
    for _ in range(_MAX_REGION_PASSES):
        labels, n = components(out)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        small = (sizes < threshold) & (sizes >= 2)
        small[0] = False
        if not small.any():
            return
        flat_labels = labels.ravel()
        own = np.zeros(n + 1, dtype=np.int64)
        own[flat_labels] = out.ravel()
        first = np.full(n + 1, out.size, dtype=np.int64)
        np.minimum.at(first, flat_labels, np.arange(out.size))
        key_of = {int(r): (int(first[r]), int(sizes[r]), int(own[r])) for r in np.flatnonzero(small)}
        small_regions = [r for r, key in key_of.items() if key not in rejected]
        if not small_regions:
            return
        is_cand = np.zeros(n + 1, dtype=bool)
        is_cand[small_regions] = True

        # Contacts: (region, neighbour region, neighbour colour) for every edge between different regions.
        region, other, colour = _contacts(out, labels)
        keep = is_cand[region]
        region, other, colour = region[keep], other[keep], colour[keep]
        pair_key, edges = np.unique(region * n_colours + colour, return_counts=True)
        reg, col = pair_key // n_colours, pair_key % n_colours

        if source is not None and colours is not None and baseline is not None:
            cells = np.flatnonzero(is_cand[flat_labels])
            cell_reg = flat_labels[cells]
            # Every (cell, candidate colour of its region) pair, found through the sorted region ids in `reg`.
            start = np.searchsorted(reg, cell_reg, side="left")
            stop = np.searchsorted(reg, cell_reg, side="right")
            per_cell = stop - start
            cell_idx = np.repeat(np.arange(len(cells)), per_cell)
            pair_idx = np.repeat(start, per_cell) + (
                np.arange(per_cell.sum()) - np.repeat(np.cumsum(per_cell) - per_cell, per_cell)
            )
            err = ciede2000(source.reshape(-1, 3)[cells[cell_idx]], colours[col[pair_idx]])
            excess = err - baseline.reshape(-1)[cells[cell_idx]]
            cost = np.bincount(pair_idx, weights=excess, minlength=len(reg)) / sizes[reg]
        else:
            cost = np.zeros(len(reg))
        order = np.lexsort((col, -edges, cost, reg))
        reg, col, cost = reg[order], col[order], cost[order]
        best = np.ones(len(reg), dtype=bool)
        best[1:] = reg[1:] != reg[:-1]
        reg, col, cost = reg[best], col[best], cost[best]
        cheap = cost <= max_cost + 1e-9
        for r in reg[~cheap].tolist():
            rejected.add(key_of[r])
        reg, col = reg[cheap], col[cheap]
        if not len(reg):
            return
        movers = np.zeros(n + 1, dtype=bool)
        movers[reg] = True
        target = np.full(n + 1, -1, dtype=np.int64)
        target[reg] = col
        # A mover waits while a region of its target colour next to it is moving too (it would join nothing).
        region, other, colour = _contacts(out, labels)
        blocked_edge = movers[region] & (colour == target[region]) & movers[other]
        blocked = np.zeros(n + 1, dtype=bool)
        blocked[region[blocked_edge]] = True
        go = movers & ~blocked
        # Blocked movers whose blockers are all blocked with higher labels go too (a pair that would swap colours:
        # the lower label goes), unless one of their blockers goes as well.
        a, b = region[blocked_edge], other[blocked_edge]
        unfit = np.zeros(n + 1, dtype=bool)
        unfit[a[(b < a) | ~blocked[b]]] = True
        second = blocked & ~unfit
        clash = np.zeros(n + 1, dtype=bool)
        clash[a[second[b]]] = True
        go |= second & ~clash
        new_colour = own.copy()
        new_colour[go] = target[go]
        out[...] = new_colour[labels]


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


def clean(
    grid: np.ndarray,
    min_region: int = 3,
    distance: np.ndarray | None = None,
    *,
    source: np.ndarray | None = None,
    colours: np.ndarray | None = None,
    max_cost: float = MAX_MERGE_COST,
    keep_detail: float = KEEP_DETAIL,
    pairs: bool = True,
) -> np.ndarray:
    """A copy of the (rows, cols) colour-index grid with stray cells and cheap small regions merged away (see the
    module docstring).

    distance: optional (n, n) colour-to-colour distances for tie-breaks (e.g. CIEDE2000 between legend colours).
    source: (rows, cols, 3) CIELAB of each cell's photo colour; colours: (n, 3) CIELAB of the grid's colours. With
    both, merges follow the source colours and small regions merge only within `max_cost`.
    """
    out = np.array(grid, dtype=np.int64, copy=True)
    if out.ndim != 2 or out.size < 2:
        return out
    n_colours = int(out.max()) + 1
    if distance is not None and distance.shape[0] < n_colours:
        raise ValueError("the distance matrix does not cover every colour of the grid")
    if (source is None) != (colours is None):
        raise ValueError("give both the source colours and the grid's colours, or neither")
    baseline = None
    if source is not None and colours is not None:
        source = np.asarray(source, dtype=np.float64)
        colours = np.asarray(colours, dtype=np.float64)
        if source.shape != (*out.shape, 3):
            raise ValueError(f"source colours are {source.shape}, expected {(*out.shape, 3)}")
        if len(colours) < n_colours:
            raise ValueError("the colours do not cover every colour of the grid")
        baseline = ciede2000(source.reshape(-1, 3), colours[out.ravel()]).reshape(out.shape)
    _merge_isolated(out, source, colours, distance, keep_detail if source is not None else np.inf, pairs)
    threshold = int(min_region)
    if threshold > 2:
        _merge_small(out, threshold, source, colours, baseline, max_cost)
    return out
