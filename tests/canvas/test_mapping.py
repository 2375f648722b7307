from __future__ import annotations

import numpy as np
import pytest

from pixmill.canvas.color import ciede2000, ciede2000_matrix, srgb_to_lab
from pixmill.canvas.mapping import (
    PaletteIndex,
    _OneCell,
    _Query,
    _weight,
    dither,
    exterior_exceeds,
    exterior_lower_bound,
    nearest,
    nearest_brute,
)


def random_cells(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    rgb[: n // 4] = rgb[: n // 4] // 64 * 64  # repeated, coarse colours: exact ties and duplicates
    rgb[n // 4 : n // 2, 1:] = rgb[n // 4 : n // 2, :1]  # greys
    return srgb_to_lab(rgb)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_fast_mapping_equals_brute_force_on_the_full_palette(seed: int, dmc_lab: np.ndarray) -> None:
    cells = random_cells(seed, 2500)
    fast = nearest(cells, dmc_lab)
    index, delta = nearest_brute(cells, dmc_lab)
    assert np.array_equal(fast.index, index)
    assert np.array_equal(fast.delta_e, delta)
    assert fast.brute_cells < len(cells)  # the bound settles some cells by itself


@pytest.mark.parametrize(("seed", "k"), [(10, 40), (11, 24), (12, 12), (13, 60)])
def test_fast_mapping_equals_brute_force_on_subsets(seed: int, k: int, dmc_lab: np.ndarray) -> None:
    rng = np.random.default_rng(seed)
    palette = dmc_lab[rng.choice(len(dmc_lab), size=k, replace=False)]
    cells = random_cells(seed, 4000)
    fast = nearest(cells, palette)
    index, delta = nearest_brute(cells, palette)
    assert np.array_equal(fast.index, index)
    assert np.array_equal(fast.delta_e, delta)


def test_the_brute_force_reference_is_a_plain_argmin(dmc_lab: np.ndarray) -> None:
    cells = random_cells(21, 600)
    palette = np.concatenate([dmc_lab[::2], dmc_lab[::4]])  # with duplicates
    index, delta = nearest_brute(cells, palette)
    matrix = ciede2000_matrix(cells, palette)
    assert np.array_equal(index, matrix.argmin(axis=1))  # argmin: the first (lowest) index among ties
    assert np.array_equal(delta, matrix.min(axis=1))


def test_duplicate_palette_colours_resolve_to_the_lowest_index(dmc_lab: np.ndarray) -> None:
    palette = np.concatenate([dmc_lab[100:140], dmc_lab[100:140]])[::-1]  # every colour twice
    cells = random_cells(7, 1500)
    fast = nearest(cells, palette)
    index, _ = nearest_brute(cells, palette)
    assert np.array_equal(fast.index, index)
    assert fast.index.min() >= 0 and fast.index.max() < 40  # the first copies (reversed order)
    exact = nearest(palette, palette)
    assert np.all(exact.delta_e == 0.0)
    assert np.array_equal(exact.index, np.tile(np.arange(40), 2))


def test_the_exterior_bound_is_below_ciede2000(dmc_lab: np.ndarray) -> None:
    """For any palette colour p, bound(q, scaled distance(q, p)) <= CIEDE2000(q, p)."""
    rng = np.random.default_rng(5)
    queries = np.concatenate(
        [
            random_cells(5, 300),
            rng.uniform([-5, -130, -130], [105, 130, 130], (300, 3)),
            np.column_stack([rng.uniform(0, 100, 100), rng.normal(0, 1, (100, 2))]),
        ]
    )
    palettes = [dmc_lab, rng.uniform([0, -128, -128], [100, 128, 128], (200, 3))]
    for palette, scale in zip(palettes, (0.45, 1.0), strict=True):
        index = PaletteIndex.build(palette, scale=scale)
        weights = np.array([1.0, scale, scale])
        for j in range(0, len(index.unique_lab), 7):
            colour = index.unique_lab[j]
            distance = np.sqrt((((queries - colour) * weights) ** 2).sum(axis=1))
            bound = exterior_lower_bound(queries, distance, index)
            assert np.all(bound <= ciede2000(queries, colour[None, :]) + 1e-9)


def test_the_early_exit_test_agrees_with_the_full_bound(dmc_lab: np.ndarray) -> None:
    rng = np.random.default_rng(8)
    cells = random_cells(8, 3000)
    index = PaletteIndex.build(dmc_lab[::3])
    radius = rng.uniform(0.5, 40.0, len(cells))
    bound = exterior_lower_bound(cells, radius, index)
    threshold = bound * rng.uniform(0.5, 1.5, len(cells))
    assert np.array_equal(exterior_exceeds(cells, radius, threshold, index), bound > threshold)


def test_the_one_cell_search_matches_the_arrays(dmc_lab: np.ndarray) -> None:
    cells = np.concatenate([random_cells(9, 400), [[50.0, 0.0, 0.0], [30.0, 0.0, -20.0], [70.0, -10.0, 0.0]]])
    index = PaletteIndex.build(dmc_lab[::5])
    one = _OneCell(index)
    w_arrays = _weight(np.full(len(cells), np.inf), _Query.of(cells), index)
    w_floats = np.array([one.w_inf(*cell) for cell in cells.tolist()])
    np.testing.assert_allclose(w_floats, w_arrays, rtol=1e-12)
    brute, _ = nearest_brute(cells, index)
    assert [index.unique_to_index[one(*cell)] for cell in cells.tolist()] == brute.tolist()


def test_empty_and_tiny_inputs(dmc_lab: np.ndarray) -> None:
    assert len(nearest(np.empty((0, 3)), dmc_lab).index) == 0
    one = nearest(dmc_lab[5:6] + 0.5, dmc_lab[:3])
    assert one.index.shape == (1,)


def test_dither_without_strength_is_the_nearest_mapping(dmc_lab: np.ndarray) -> None:
    grid = random_cells(3, 20 * 15).reshape(15, 20, 3)
    palette = dmc_lab[::12]
    index, delta = dither(grid, palette, strength=0.0)
    expected = nearest(grid.reshape(-1, 3), palette)
    assert np.array_equal(index.ravel(), expected.index)
    np.testing.assert_allclose(delta.ravel(), expected.delta_e)


def test_dither_keeps_the_average_colour_of_a_flat_area() -> None:
    black_white = srgb_to_lab(np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))
    grey = srgb_to_lab(np.array([[[119, 119, 119]]], dtype=np.uint8))  # L* = 50
    grid = np.broadcast_to(grey, (24, 30, 3))
    plain, _ = dither(grid, black_white, strength=0.0)
    assert len(np.unique(plain)) == 1
    mixed, _ = dither(grid, black_white, strength=1.0)
    share_white = mixed.mean()
    assert 0.4 < share_white < 0.6  # L* 50 sits half way between black and white
    again, _ = dither(grid, black_white, strength=1.0)
    assert np.array_equal(mixed, again)
