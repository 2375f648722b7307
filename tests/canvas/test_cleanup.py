from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage  # type: ignore[import-untyped]

from pixmill.canvas.cleanup import clean, components, isolated_mask


def region_sizes(grid: np.ndarray) -> np.ndarray:
    labels, n = components(grid)
    return np.bincount(labels.ravel(), minlength=n + 1)[1:]


@pytest.mark.parametrize(("colours", "seed"), [(2, 0), (4, 1), (12, 2), (40, 3)])
@pytest.mark.parametrize("min_region", [1, 2, 3, 6])
def test_no_isolated_cell_and_no_small_region_remains(colours: int, seed: int, min_region: int) -> None:
    grid = np.random.default_rng(seed).integers(0, colours, (37, 53))
    cleaned = clean(grid, min_region)
    assert cleaned.shape == grid.shape
    assert not isolated_mask(cleaned).any()
    assert region_sizes(cleaned).min() >= max(min_region, 2)
    assert set(np.unique(cleaned)) <= set(np.unique(grid))


def test_a_clean_grid_is_left_alone() -> None:
    grid = np.repeat(np.repeat(np.arange(12).reshape(3, 4), 4, axis=0), 5, axis=1)
    assert np.array_equal(clean(grid, 3), grid)
    assert np.array_equal(clean(np.zeros((1, 1), dtype=np.int64), 3), np.zeros((1, 1)))


def test_an_isolated_cell_takes_the_majority_colour_around_it() -> None:
    grid = np.array(
        [
            [1, 1, 1, 2, 2],
            [1, 1, 1, 2, 2],
            [1, 1, 5, 2, 2],
            [1, 1, 1, 1, 2],
        ]
    )
    cleaned = clean(grid, 2)
    assert cleaned[2, 2] == 1  # three of its four neighbours are 1
    grid[2, 2] = 1
    assert np.array_equal(cleaned, grid)


def test_the_most_edges_win_then_the_nearest_colour_then_the_lowest() -> None:
    grid = np.array(
        [
            [0, 0, 0, 3],
            [4, 2, 3, 3],
            [4, 4, 3, 3],
        ]
    )
    assert clean(grid, 2)[1, 1] == 4  # up 0, right 3, left and down 4
    tied = np.array(
        [
            [0, 0, 0, 1, 1, 1],
            [0, 0, 9, 1, 1, 1],
            [0, 0, 1, 1, 1, 1],
        ]
    )
    assert clean(tied, 2)[1, 2] == 0  # two edges each: the lowest colour
    near_one = np.full((10, 10), 5.0)
    near_one[9, 1] = 1.0
    assert clean(tied, 2, distance=near_one)[1, 2] == 1  # two edges each: the nearest colour


def test_a_checkerboard_resolves() -> None:
    board = np.indices((20, 30)).sum(axis=0) % 2
    cleaned = clean(board, 3)
    assert not isolated_mask(cleaned).any()
    assert region_sizes(cleaned).min() >= 3


def test_components_match_per_colour_labelling() -> None:
    grid = np.random.default_rng(9).integers(0, 5, (30, 40))
    labels, n = components(grid)
    total = 0
    for colour in range(5):
        _, count = ndimage.label(grid == colour)
        total += count
        # one label per component, never shared across colours
        assert len(np.unique(labels[grid == colour])) == count
    assert total == n


def test_isolated_mask() -> None:
    grid = np.array([[0, 1, 1], [2, 3, 1], [2, 0, 0]])
    assert isolated_mask(grid).tolist() == [[True, False, False], [False, True, False], [False, False, False]]
