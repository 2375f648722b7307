"""Exact nearest palette colour by CIEDE2000 for every cell, and optional Floyd-Steinberg dithering in CIELAB.

The fast path asks a k-d tree for each cell's k nearest palette colours by Euclidean distance in a scaled CIELAB,
(L, λa, λb) with λ = `PaletteIndex.scale` (λ = 1 is ΔE76; λ < 1 mirrors CIEDE2000's lighter weighting of chroma
and so makes better candidates), and re-ranks them by CIEDE2000. Every colour outside that candidate set lies at
a scaled distance of at least d_k, the k-th candidate's. `exterior_lower_bound` gives, per cell, a number that
CIEDE2000 to *any* palette colour at scaled distance >= d_k is provably above; when the best CIEDE2000 among the
candidates is strictly below it, no other colour can win or tie. Cells it cannot settle get 4k candidates, and
then brute force. So the result always equals the brute-force CIEDE2000 argmin (ties to the lowest palette index).

The bound. For cell q = (L1, a1, b1) with chroma C1 and a colour p at scaled distance r, ΔL² + λ²·|Δab|² = r²
(so |ΔL| <= r and |Δab| <= r/λ). Write ΔE00² = (ΔL/SL)² + x² + y² + RT·x·y with x = ΔC'/SC, y = ΔH'/SH. Then:

- ΔC'² + ΔH'² = |Δ(a', b')|² (law of cosines) >= |Δab|², because a' = (1 + G)·a with G >= 0;
- SH <= SC, because T <= 1 + 0.17 + 0.24 + 0.32 + 0.20 < 3; so x² + y² >= |Δab|² / SC²;
- RT·x·y >= -|RT|·(x² + y²)/2, so x² + y² + RT·x·y >= κ·(x² + y²) with κ = 1 - |RT|/2 > 0;
- C2 <= min(C1 + r/λ, max palette chroma) bounds the mean chroma C̄; C̄' <= (1 + G(C̄))·C̄ = ψ(C̄), and ψ is
  increasing (ψ' = 1.5 - 2.25v + 1.75v³ > 0.5 with v = sqrt(C̄⁷/(C̄⁷ + 25⁷))), so SC <= 1 + 0.045·ψ(C̄hi) and
  RC <= RC(ψ(C̄hi));
- |RT| = |sin 2Δθ|·RC with Δθ = 30°·exp(-((h̄' - 275°)/25°)²) <= 30°. When both chromas are non-zero, the mean
  hue h̄' is the midpoint of the shorter arc between h1' and h2', so within 90° of h1'; and h1' lies between
  atan2(b1, a1) and atan2(b1, 1.5·a1) since 0 <= G <= 0.5. With D the circular distance from that arc to 275°,
  Δθ <= 30°·exp(-(max(0, D - 90°)/25°)²). (When a chroma is 0, ΔH' = 0 and RT plays no part.)
- SL <= SL(max |L̄ - 50|) over L2 in [L1 - r, L1 + r] ∩ [palette L range].

Hence ΔE00² >= ΔL²/SLhi² + κ·|Δab|²/SChi² >= r²·w(r)² with w(r) = min(1/SLhi(r), sqrt(κ(r))/(λ·SChi(r))),
every "hi" term non-decreasing in r. For r in [r_j, r_j+1], ΔE00 >= r_j·w(r_j+1); beyond the last radius the caps
(palette chroma and L range) give w(∞). The exterior bound is the minimum of those over a geometric ladder of
radii starting at d_k. tests/canvas/test_mapping.py checks it against CIEDE2000 on random pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from pixmill.canvas.color import ciede2000, ciede2000_scalar

DEFAULT_K = 8
DEFAULT_SCALE = 0.45
# Cells per brute-force block: bounds the temporary (block x palette) arrays.
_BLOCK_PAIRS = 1 << 18
_LADDER = 1.25 ** np.arange(13)  # radii d_k·1.25^j
_POW25_7 = 25.0**7
_MARGIN_REL = 1e-9
_MARGIN_ABS = 1e-9


@dataclass(frozen=True)
class PaletteIndex:
    """A target palette prepared for nearest-colour queries (duplicates folded onto their lowest index)."""

    lab: np.ndarray  # (m, 3) every colour, in palette order
    unique_lab: np.ndarray  # (u, 3) distinct colours, in order of first appearance
    unique_to_index: np.ndarray  # (u,) palette index of each distinct colour (its first appearance)
    tree: cKDTree  # over unique_lab with a and b scaled by `scale`
    scale: float
    max_chroma: float
    l_min: float
    l_max: float

    @classmethod
    def build(cls, palette_lab: np.ndarray, scale: float = DEFAULT_SCALE) -> PaletteIndex:
        lab = np.ascontiguousarray(palette_lab, dtype=np.float64).reshape(-1, 3)
        if len(lab) == 0:
            raise ValueError("the palette has no colours")
        _, first = np.unique(lab, axis=0, return_index=True)
        first = np.sort(first)
        unique_lab = lab[first]
        return cls(
            lab=lab,
            unique_lab=unique_lab,
            unique_to_index=first.astype(np.int64),
            tree=cKDTree(unique_lab * np.array([1.0, scale, scale])),
            scale=scale,
            max_chroma=float(np.hypot(unique_lab[:, 1], unique_lab[:, 2]).max()),
            l_min=float(unique_lab[:, 0].min()),
            l_max=float(unique_lab[:, 0].max()),
        )


@dataclass(frozen=True)
class Mapping:
    """The nearest palette colour of every cell."""

    index: np.ndarray  # (n,) int64 palette index
    delta_e: np.ndarray  # (n,) float64 CIEDE2000 to it
    brute_cells: int  # cells the bound could not settle (resolved by brute force)


def _argmin_lowest(de: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the smallest ΔE and, among exact ties, the smallest index."""
    best = de.min(axis=1)
    tied = de == best[:, None]
    chosen = np.where(tied, idx, np.iinfo(np.int64).max).min(axis=1)
    return chosen, best


def _brute_unique(cells: np.ndarray, index: PaletteIndex) -> tuple[np.ndarray, np.ndarray]:
    """Brute force over the distinct colours: (unique index, ΔE) per cell."""
    u = len(index.unique_lab)
    out_idx = np.empty(len(cells), dtype=np.int64)
    out_de = np.empty(len(cells), dtype=np.float64)
    block = max(1, _BLOCK_PAIRS // u)
    order = np.arange(u, dtype=np.int64)[None, :]
    for start in range(0, len(cells), block):
        part = cells[start : start + block]
        de = ciede2000(part[:, None, :], index.unique_lab[None, :, :])
        chosen, best = _argmin_lowest(de, np.broadcast_to(order, de.shape))
        out_idx[start : start + block] = chosen
        out_de[start : start + block] = best
    return out_idx, out_de


def nearest_brute(cells_lab: np.ndarray, palette_lab: np.ndarray | PaletteIndex) -> tuple[np.ndarray, np.ndarray]:
    """Reference: CIEDE2000 to every palette colour; (palette index, ΔE) per cell, ties to the lowest index."""
    index = palette_lab if isinstance(palette_lab, PaletteIndex) else PaletteIndex.build(palette_lab)
    cells = np.asarray(cells_lab, dtype=np.float64).reshape(-1, 3)
    uidx, de = _brute_unique(cells, index)
    return index.unique_to_index[uidx], de


def _pow7(x: np.ndarray) -> np.ndarray:
    x2 = x * x
    return x2 * x2 * x2 * x


def _psi(c_mean: np.ndarray) -> np.ndarray:
    """Upper bound of the primed mean chroma given the unprimed mean chroma (increasing)."""
    c7 = _pow7(c_mean)
    return c_mean * (1.5 - 0.5 * np.sqrt(c7 / (c7 + _POW25_7)))


def _hue_deg(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    h = np.degrees(np.arctan2(b, a))
    return np.where(h < 0.0, h + 360.0, h)


def _circular_distance(h: np.ndarray, target: float) -> np.ndarray:
    d = np.abs(h - target) % 360.0
    return np.minimum(d, 360.0 - d)


@dataclass(frozen=True)
class _Query:
    """Per-cell terms of the bound that do not depend on the radius."""

    l1: np.ndarray
    c1: np.ndarray
    sin_max: np.ndarray  # upper bound of |sin 2Δθ|

    @classmethod
    def of(cls, cells: np.ndarray) -> _Query:
        l1, a1, b1 = cells[:, 0], cells[:, 1], cells[:, 2]
        h_a = _hue_deg(b1, a1)
        h_b = _hue_deg(b1, 1.5 * a1)
        inside = (np.minimum(h_a, h_b) <= 275.0) & (np.maximum(h_a, h_b) >= 275.0)
        d = np.where(inside, 0.0, np.minimum(_circular_distance(h_a, 275.0), _circular_distance(h_b, 275.0)))
        d_theta = 30.0 * np.exp(-((np.maximum(0.0, d - 90.0) / 25.0) ** 2))
        return cls(l1=l1, c1=np.sqrt(a1 * a1 + b1 * b1), sin_max=np.sin(np.radians(2.0 * d_theta)))

    def take(self, rows: np.ndarray) -> _Query:
        return _Query(self.l1[rows], self.c1[rows], self.sin_max[rows])


def _weight(r: np.ndarray, q: _Query, index: PaletteIndex) -> np.ndarray:
    """w(r) with every worst-case term taken at tree distance r: valid for every colour at distance <= r."""
    lo = np.maximum(index.l_min, q.l1 - r)
    hi = np.minimum(index.l_max, q.l1 + r)
    lo = np.minimum(lo, hi)
    m = np.maximum(np.abs(0.5 * (q.l1 + lo) - 50.0), np.abs(0.5 * (q.l1 + hi) - 50.0))
    m2 = m * m
    s_l = 1.0 + 0.015 * m2 / np.sqrt(20.0 + m2)
    c_mean = 0.5 * (q.c1 + np.minimum(q.c1 + r / index.scale, index.max_chroma))
    cp = _psi(c_mean)
    s_c = 1.0 + 0.045 * cp
    cp7 = _pow7(cp)
    r_c = 2.0 * np.sqrt(cp7 / (cp7 + _POW25_7))
    kappa = 1.0 - 0.5 * q.sin_max * r_c
    return np.minimum(1.0 / s_l, np.sqrt(kappa) / (index.scale * s_c))


def exterior_lower_bound(cells_lab: np.ndarray, radius: np.ndarray, index: PaletteIndex) -> np.ndarray:
    """Per cell, a value below CIEDE2000 from the cell to every palette colour at tree distance >= radius."""
    q = _Query.of(np.asarray(cells_lab, dtype=np.float64).reshape(-1, 3))
    radius = np.asarray(radius, dtype=np.float64).reshape(-1)
    bound = radius * _LADDER[-1] * _weight(np.full_like(radius, np.inf), q, index)  # beyond the last rung
    for j in range(len(_LADDER) - 1):
        bound = np.minimum(bound, radius * _LADDER[j] * _weight(radius * _LADDER[j + 1], q, index))
    return bound


def exterior_exceeds(cells: np.ndarray, radius: np.ndarray, threshold: np.ndarray, index: PaletteIndex) -> np.ndarray:
    """exterior_lower_bound(cells, radius) > threshold, per cell, stopping early for each cell.

    A cell passes once its rungs so far exceed the threshold and r_j+1·w(∞) does too: w never drops below w(∞),
    so every later rung and the tail exceed it as well.
    """
    q = _Query.of(cells)
    w_inf = _weight(np.full_like(radius, np.inf), q, index)
    result = np.zeros(len(cells), dtype=bool)
    pending = np.flatnonzero(radius * _LADDER[-1] * w_inf > threshold)  # the tail; failing it fails the bound
    for j in range(len(_LADDER) - 1):
        if len(pending) == 0:
            break
        r = radius[pending]
        thr = threshold[pending]
        passes = r * _LADDER[j] * _weight(r * _LADDER[j + 1], q.take(pending), index) > thr
        done = passes & (r * _LADDER[j + 1] * w_inf[pending] > thr)
        result[pending[done]] = True
        pending = pending[passes & ~done]
    result[pending] = True  # passed every rung and the tail
    return result


def _candidates(cells: np.ndarray, index: PaletteIndex, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique index, ΔE, settled) per cell from its k tree neighbours; settled where the bound proves it exact."""
    dist, cand = index.tree.query(cells * np.array([1.0, index.scale, index.scale]), k=k)
    cand = cand.astype(np.int64)
    de = ciede2000(cells[:, None, :], index.unique_lab[cand])
    uidx, best = _argmin_lowest(de, cand)
    settled = exterior_exceeds(cells, dist[:, -1], best * (1.0 + _MARGIN_REL) + _MARGIN_ABS, index)
    return uidx, best, settled


def nearest(cells_lab: np.ndarray, palette: np.ndarray | PaletteIndex, k: int = DEFAULT_K) -> Mapping:
    """Exact CIEDE2000 nearest palette colour of every (n, 3) Lab cell: k-d tree candidates, bound, brute fallback.

    Cells the bound cannot settle with k candidates get 4k, and the rest brute force.
    """
    index = palette if isinstance(palette, PaletteIndex) else PaletteIndex.build(palette)
    cells = np.ascontiguousarray(cells_lab, dtype=np.float64).reshape(-1, 3)
    u = len(index.unique_lab)
    if len(cells) == 0:
        return Mapping(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64), 0)
    if u <= 2 * k:
        uidx, best = _brute_unique(cells, index)
        return Mapping(index.unique_to_index[uidx], best, 0)
    uidx, best, settled = _candidates(cells, index, k)
    unsure = np.flatnonzero(~settled)
    if len(unsure) and u > 8 * k:
        more_idx, more_best, more_settled = _candidates(cells[unsure], index, 4 * k)
        uidx[unsure] = more_idx
        best[unsure] = more_best
        unsure = unsure[~more_settled]
    if len(unsure):
        b_idx, b_de = _brute_unique(cells[unsure], index)
        uidx[unsure] = b_idx
        best[unsure] = b_de
    return Mapping(index.unique_to_index[uidx], best, len(unsure))


class _OneCell:
    """Exact CIEDE2000 nearest colour of one Lab colour at a time, in plain Python floats (for dithering).

    Colours are tried in order of tree distance d; once d·w(∞) exceeds the best CIEDE2000 so far, no colour left
    can win or tie (CIEDE2000 >= d·w(d) >= d·w(∞), see the module docstring).
    """

    def __init__(self, index: PaletteIndex) -> None:
        self.index = index
        self.scaled = index.unique_lab * np.array([1.0, index.scale, index.scale])
        self.colours = [tuple(row) for row in index.unique_lab.tolist()]
        # The radius-free parts of w(∞) (see _weight): the L range and the chroma cap are the palette's.
        self.l_ends = (index.l_min, index.l_max)
        self.max_chroma = index.max_chroma

    def w_inf(self, light: float, a: float, b: float) -> float:
        """_weight(∞) for one colour, in plain floats (tests check it against the array version)."""
        h_a = math.degrees(math.atan2(b, a)) % 360.0
        h_b = math.degrees(math.atan2(b, 1.5 * a)) % 360.0
        if min(h_a, h_b) <= 275.0 <= max(h_a, h_b):
            d = 0.0
        else:
            d = min(min(abs(h - 275.0) % 360.0, 360.0 - abs(h - 275.0) % 360.0) for h in (h_a, h_b))
        sin_max = math.sin(math.radians(2.0 * 30.0 * math.exp(-((max(0.0, d - 90.0) / 25.0) ** 2))))
        m = max(abs(0.5 * (light + end) - 50.0) for end in self.l_ends)
        s_l = 1.0 + 0.015 * m * m / math.sqrt(20.0 + m * m)
        c_mean = 0.5 * (math.hypot(a, b) + self.max_chroma)
        c7 = c_mean**7
        cp = c_mean * (1.5 - 0.5 * math.sqrt(c7 / (c7 + _POW25_7)))
        s_c = 1.0 + 0.045 * cp
        cp7 = cp**7
        kappa = 1.0 - 0.5 * sin_max * 2.0 * math.sqrt(cp7 / (cp7 + _POW25_7))
        return min(1.0 / s_l, math.sqrt(kappa) / (self.index.scale * s_c))

    def __call__(self, light: float, a: float, b: float) -> int:
        index = self.index
        scale = index.scale
        diff = self.scaled - (light, a * scale, b * scale)
        d2 = (diff * diff).sum(axis=1)
        order = np.argsort(d2, kind="stable")
        distances = np.sqrt(d2[order]).tolist()
        w_inf = self.w_inf(light, a, b)
        best, best_i = np.inf, -1
        for rank, i in enumerate(order.tolist()):
            if distances[rank] * w_inf > best * (1.0 + _MARGIN_REL) + _MARGIN_ABS:
                break
            l2, a2, b2 = self.colours[i]
            de = ciede2000_scalar(light, a, b, l2, a2, b2)
            if de < best or (de == best and i < best_i):
                best, best_i = de, i
        return best_i


def dither(
    lab_grid: np.ndarray, palette: np.ndarray | PaletteIndex, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Floyd-Steinberg error diffusion in CIELAB, serpentine; each step takes the exact CIEDE2000 nearest colour.

    `strength` (0..1) scales the diffused error. The working colour is kept inside the palette's Lab box so the
    error cannot run away. Returns the (rows, cols) palette indices and the CIEDE2000 from each source cell.
    """
    index = palette if isinstance(palette, PaletteIndex) else PaletteIndex.build(palette)
    grid = np.asarray(lab_grid, dtype=np.float64)
    rows, cols = grid.shape[:2]
    strength = min(max(float(strength), 0.0), 1.0)
    if strength == 0.0 or rows * cols == 0:
        m = nearest(grid.reshape(-1, 3), index)
        return m.index.reshape(rows, cols), m.delta_e.reshape(rows, cols)
    one_cell = _OneCell(index)
    colours = one_cell.colours
    low = index.unique_lab.min(axis=0).tolist()
    high = index.unique_lab.max(axis=0).tolist()
    out = np.empty((rows, cols), dtype=np.int64)
    below = [[0.0, 0.0, 0.0] for _ in range(cols + 2)]  # error for the next row, a cell of margin each side
    w_carry, w_behind, w_below, w_ahead = (strength * f / 16 for f in (7, 3, 5, 1))
    for y in range(rows):
        incoming, below = below, [[0.0, 0.0, 0.0] for _ in range(cols + 2)]
        source = grid[y].tolist()
        forward = y % 2 == 0
        step = 1 if forward else -1
        carry = (0.0, 0.0, 0.0)
        for x in range(cols) if forward else range(cols - 1, -1, -1):
            base, extra = source[x], incoming[x + 1]
            target = [min(max(base[c] + extra[c] + carry[c], low[c]), high[c]) for c in range(3)]
            u = one_cell(target[0], target[1], target[2])
            out[y, x] = u
            err = [target[c] - colours[u][c] for c in range(3)]
            carry = (err[0] * w_carry, err[1] * w_carry, err[2] * w_carry)
            for offset, weight in ((1 - step, w_behind), (1, w_below), (1 + step, w_ahead)):
                cell = below[x + offset]
                cell[0] += err[0] * weight
                cell[1] += err[1] * weight
                cell[2] += err[2] * weight
    index_grid = index.unique_to_index[out]
    delta = ciede2000(grid.reshape(-1, 3), index.lab[index_grid.reshape(-1)]).reshape(rows, cols)
    return index_grid, delta
