"""The colour budget: at most K palette colours that best represent one photo.

1. k-means in CIELAB on the cell colours (weighted by how many cells share a colour; k-means++ seeding from a
   fixed seed, so the same photo always gives the same colours);
2. each centroid, heaviest cluster first, snaps to the nearest palette colour by CIEDE2000 not already taken;
3. swap refinement (PAM): while exchanging one chosen colour for a colour of a shortlist lowers the total
   CIEDE2000 of the cells to their nearest chosen colour, make the best such exchange. This optimises what the
   mapping is judged by (k-means works with squared Euclidean distances, which over-weight chroma).

Large photos are represented by fixed-size weighted samples of their cells (drawn from the same fixed seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import vq  # type: ignore[import-untyped]

from pixmill.canvas.color import ciede2000, ciede2000_matrix
from pixmill.canvas.mapping import PaletteIndex

DEFAULT_MAX_COLORS = 40
SEED = 20_251_123
KMEANS_SAMPLE = 4096  # cells k-means runs on, at most (weighted draws)
SWAP_SAMPLE = 2048  # cells the swap refinement scores on, at most
KMEANS_ITERATIONS = 30
POOL_NEIGHBOURS = 2  # each cell votes for its nearest palette colours ...
POOL_PER_COLOR = 3  # ... and the pool keeps the top 3K of them
MAX_SWAPS_PER_COLOR = 1


@dataclass(frozen=True)
class Budget:
    colors: np.ndarray  # (k,) palette indices chosen, ascending


def _weighted_sample(
    points: np.ndarray, weights: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights as they are when few, else `size` draws (by weight) folded back into distinct points."""
    if weights.sum() <= size or len(points) <= size // 4:
        return points, weights
    draws = rng.choice(len(points), size=size, replace=True, p=weights / weights.sum())
    chosen, counts = np.unique(draws, return_counts=True)
    return points[chosen], counts.astype(np.float64)


def _kmeans_pp(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (weighted): each next centre drawn with probability ∝ weight · distance²."""
    first = int(rng.choice(len(points), p=weights / weights.sum()))
    centres = [points[first]]
    d2 = ((points - points[first]) ** 2).sum(axis=1)
    for _ in range(1, k):
        score = weights * d2
        total = score.sum()
        if total <= 0.0:
            break  # every point coincides with a centre
        nxt = int(rng.choice(len(points), p=score / total))
        centres.append(points[nxt])
        d2 = np.minimum(d2, ((points - points[nxt]) ** 2).sum(axis=1))
    return np.array(centres)


def kmeans(points: np.ndarray, weights: np.ndarray, k: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Weighted Lloyd k-means in CIELAB from a k-means++ seeding: (centres, cluster weights), heaviest first.

    With no more distinct points than k, the points themselves are the centres.
    """
    rng = np.random.default_rng(seed)
    if len(points) <= k:
        order = np.lexsort((np.arange(len(points)), -weights))
        return points[order], weights[order]
    centres = _kmeans_pp(points, weights, k, rng)
    labels = np.full(len(points), -1, dtype=np.int64)
    for _ in range(KMEANS_ITERATIONS):
        new_labels, dist = vq(points, centres, check_finite=False)
        new_labels = new_labels.astype(np.int64)
        mass = np.bincount(new_labels, weights=weights, minlength=len(centres))
        empty = np.flatnonzero(mass == 0.0)
        if len(empty):  # re-seed an empty cluster at the worst-served point
            far = int(np.argmax(weights * dist * dist))
            centres[empty[0]] = points[far]
            continue
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for axis in range(3):
            centres[:, axis] = np.bincount(labels, weights=weights * points[:, axis], minlength=len(centres)) / mass
    labels = vq(points, centres, check_finite=False)[0].astype(np.int64)
    mass = np.bincount(labels, weights=weights, minlength=len(centres))
    order = np.lexsort((np.arange(len(centres)), -mass))
    keep = order[mass[order] > 0]
    return centres[keep], mass[keep]


def snap_distinct(centres: np.ndarray, palette_lab: np.ndarray) -> np.ndarray:
    """Each centre in turn takes its CIEDE2000-nearest palette colour not taken by an earlier one."""
    de = ciede2000_matrix(centres, palette_lab)
    taken = np.zeros(len(palette_lab), dtype=bool)
    chosen: list[int] = []
    for row in de:
        if taken.all():
            break
        row = np.where(taken, np.inf, row)
        j = int(np.flatnonzero(row == row.min())[0])
        taken[j] = True
        chosen.append(j)
    return np.array(chosen, dtype=np.int64)


def swap_refine(
    points: np.ndarray,
    weights: np.ndarray,
    chosen: np.ndarray,
    palette_lab: np.ndarray,
    palette_index: PaletteIndex,
    max_swaps: int,
) -> np.ndarray:
    """Swap chosen colours for pool colours while a swap lowers the weighted total CIEDE2000 of the points.

    The pool is the chosen colours plus the palette colours most often among the points' nearest (by the tree's
    scaled distance: only a shortlist, every cost below is exact CIEDE2000). Each step makes the best single swap
    (PAM): with each point's best and second-best chosen colour, the total after swapping chosen j for pool
    colour c is evaluated for every (j, c) at once.
    """
    k = len(chosen)
    n_near = min(POOL_NEIGHBOURS, len(palette_index.unique_lab))
    _, near = palette_index.tree.query(points * np.array([1.0, palette_index.scale, palette_index.scale]), k=n_near)
    near = palette_index.unique_to_index[np.asarray(near, dtype=np.int64).reshape(len(points), n_near)]
    votes = np.bincount(near.ravel(), weights=np.repeat(weights, n_near), minlength=len(palette_lab))
    ranked = np.lexsort((np.arange(len(palette_lab)), -votes))
    ranked = ranked[votes[ranked] > 0][: POOL_PER_COLOR * k]
    pool = np.unique(np.concatenate([chosen, ranked]))
    if len(pool) == k:
        return chosen
    cost = ciede2000(points[:, None, :], palette_lab[pool][None, :, :])  # (n, pool)
    selected = np.isin(pool, chosen)
    rows = np.arange(len(points))
    for _ in range(max_swaps):
        members = np.flatnonzero(selected)
        sub = cost[:, members]
        two = np.argpartition(sub, 1, axis=1)[:, :2] if len(members) > 1 else np.zeros((len(points), 2), np.int64)
        first = np.where(sub[rows, two[:, 0]] <= sub[rows, two[:, 1]], two[:, 0], two[:, 1])
        second = np.where(first == two[:, 0], two[:, 1], two[:, 0])
        best1 = sub[rows, first]
        best2 = sub[rows, second] if len(members) > 1 else np.full(len(points), np.inf)
        total = float((weights * best1).sum())
        keep1 = np.minimum(cost, best1[:, None])
        keep2 = np.minimum(cost, best2[:, None])
        after_add = (keep1 * weights[:, None]).sum(axis=0)  # (pool,) total when c joins and nothing leaves
        # The extra cost of j leaving: summed over the points whose best colour is j (sorted into groups).
        order = np.argsort(first, kind="stable")
        starts = np.searchsorted(first[order], np.arange(len(members)))
        present = np.bincount(first, minlength=len(members)) > 0
        loss = np.zeros((len(members), len(pool)))
        grouped = np.add.reduceat(((keep2 - keep1) * weights[:, None])[order], starts[present], axis=0)
        loss[present] = grouped
        totals = after_add[None, :] + loss  # (members, pool): j leaves, c joins
        totals[:, selected] = np.inf
        j, c = np.unravel_index(int(np.argmin(totals)), totals.shape)
        if not totals[j, c] < total * (1.0 - 1e-9):
            break
        selected[members[j]] = False
        selected[c] = True
    return pool[selected]


def choose_colors(
    points_lab: np.ndarray,
    weights: np.ndarray,
    palette_lab: np.ndarray,
    max_colors: int = DEFAULT_MAX_COLORS,
    seed: int = SEED,
) -> Budget:
    """At most `max_colors` palette indices for cells of these (n, 3) Lab colours, each `weights` cells."""
    points = np.asarray(points_lab, dtype=np.float64).reshape(-1, 3)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    palette_lab = np.asarray(palette_lab, dtype=np.float64).reshape(-1, 3)
    if len(points) == 0 or len(palette_lab) == 0 or max_colors < 1:
        raise ValueError("the budget needs cells, a palette and a positive number of colours")
    rng = np.random.default_rng(seed)
    palette_index = PaletteIndex.build(palette_lab)
    if max_colors >= len(palette_index.unique_lab):
        chosen = palette_index.unique_to_index.copy()
    else:
        sample, sample_w = _weighted_sample(points, weights, KMEANS_SAMPLE, rng)
        centres, _ = kmeans(sample, sample_w, max_colors, seed)
        chosen = snap_distinct(centres, palette_lab)
        swap_points, swap_w = _weighted_sample(points, weights, SWAP_SAMPLE, rng)
        chosen = swap_refine(swap_points, swap_w, chosen, palette_lab, palette_index, MAX_SWAPS_PER_COLOR * len(chosen))
    return Budget(colors=np.sort(chosen))
