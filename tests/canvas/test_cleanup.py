from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage  # type: ignore[import-untyped]

from pixmill.canvas.cleanup import clean, components, isolated_mask
from pixmill.canvas.color import ciede2000


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


# Lab colours for the source-aware tests: 0 dark red, 1 mid red, 2 light grey, 3 white, 4 dark blue.
LAB = np.array([[30.0, 40.0, 25.0], [50.0, 55.0, 35.0], [80.0, 0.0, 0.0], [100.0, 0.0, 0.0], [25.0, 10.0, -45.0]])


def _source(grid: np.ndarray, overrides: dict[tuple[int, int], list[float]] | None = None) -> np.ndarray:
    """Each cell's source colour: its drill colour, except where given."""
    src = LAB[grid].copy()
    for (i, j), lab in (overrides or {}).items():
        src[i, j] = lab
    return src


def test_a_stray_cell_takes_the_neighbouring_colour_nearest_its_source_not_the_majority() -> None:
    grid = np.array(
        [
            [2, 2, 2, 2, 2],
            [2, 2, 2, 2, 2],
            [2, 2, 4, 0, 0],
            [2, 2, 2, 0, 0],
        ]
    )
    # The stray cell's photo colour was a blue-leaning dark red: the dark red beside it, not the grey around it.
    src = _source(grid, {(2, 2): [32.0, 30.0, 0.0]})
    cleaned = clean(grid, 2, source=src, colours=LAB)
    assert cleaned[2, 2] == 0
    assert not isolated_mask(cleaned).any()


def test_ties_in_source_distance_go_to_the_majority() -> None:
    lab = np.array([[50.0, 0.0, 0.0], [50.0, 0.0, 0.0], [90.0, 0.0, 0.0]])  # 0 and 1: the same colour
    mostly_one = np.array([[0, 1, 1], [0, 2, 1], [0, 1, 1]])
    mostly_zero = np.array([[0, 0, 1], [0, 2, 1], [0, 0, 1]])
    for grid, expected in ((mostly_one, 1), (mostly_zero, 0)):
        src = lab[grid].copy()
        src[1, 1] = [53.0, 0.0, 0.0]  # the photo was grey there: both neighbouring colours are equally near
        assert clean(grid, 2, source=src, colours=lab)[1, 1] == expected


def test_a_stray_cell_that_would_cost_too_much_stays_as_detail() -> None:
    grid = np.full((6, 6), 0)
    grid[2, 3] = 3  # an eye highlight: white in a dark red area, and white in the photo too
    src = _source(grid)
    kept = clean(grid, 3, source=src, colours=LAB)
    assert kept[2, 3] == 3
    assert clean(grid, 3, source=src, colours=LAB, keep_detail=np.inf)[2, 3] == 0  # forced: it merges
    assert clean(grid, 3)[2, 3] == 0  # without source colours every stray cell merges


def test_a_small_region_merges_only_when_that_costs_little() -> None:
    grid = np.full((6, 8), 0)
    grid[2, 3:5] = 1  # a two-cell region of mid red in dark red
    grid[4, 1:3] = 3  # a two-cell region of white in dark red
    src = _source(grid)
    src[2, 3:5] = 0.45 * LAB[0] + 0.55 * LAB[1]  # the photo was between the two reds: merging costs 0.7 ΔE00
    cleaned = clean(grid, 3, source=src, colours=LAB, max_cost=3.0)
    assert (cleaned[2, 3:5] == 0).all()
    assert (cleaned[4, 1:3] == 3).all()  # white merging into dark red would cost far more: the detail stays
    assert (clean(grid, 3, source=src, colours=LAB, max_cost=0.0)[2, 3:5] == 1).all()


def test_cleanup_on_a_photo_like_grid_keeps_the_error_low() -> None:
    rng = np.random.default_rng(5)
    rows, cols = 60, 50
    rr, cc = np.mgrid[0:rows, 0:cols]
    lab = np.stack(
        [
            50 + 30 * np.sin(rr / 9.0) + rng.normal(0, 4, (rows, cols)),
            20 * np.cos(cc / 7.0),
            15 + rng.normal(0, 3, (rows, cols)),
        ],
        axis=-1,
    )
    colours = np.array([[L, a, b] for L in range(20, 81, 10) for a in (-20, 0, 20) for b in (0, 20)], dtype=float)
    grid = np.argmin(((lab[:, :, None, :] - colours) ** 2).sum(-1), axis=-1)
    before = ciede2000(lab.reshape(-1, 3), colours[grid.ravel()]).mean()
    cleaned = clean(grid, 3, source=lab, colours=colours)
    after = ciede2000(lab.reshape(-1, 3), colours[cleaned.ravel()]).mean()
    assert isolated_mask(grid).mean() > 0.05
    assert isolated_mask(cleaned).mean() <= 0.01
    assert after - before < 0.03 * before
    majority = ciede2000(lab.reshape(-1, 3), colours[clean(grid, 3).ravel()]).mean()
    assert after - before < 0.5 * (majority - before)  # the old majority cleanup costs more than twice as much


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


def test_a_stray_cell_can_keep_its_colour_as_a_pair_when_that_costs_less() -> None:
    grid = np.full((5, 5), 2)  # light grey
    grid[2, 2] = 3  # a white stray cell
    src = _source(grid, {(2, 2): [90.0, 0.0, 0.0], (2, 3): [96.0, 0.0, 0.0]})  # its right neighbour was nearly white
    paired = clean(grid, 2, source=src, colours=LAB)
    assert paired[2, 2] == 3 and paired[2, 3] == 3  # the neighbour joins it: a two-cell highlight
    assert not isolated_mask(paired).any()
    before = ciede2000(src.reshape(-1, 3), LAB[grid.ravel()]).sum()
    assert ciede2000(src.reshape(-1, 3), LAB[paired.ravel()]).sum() < before  # and the error went down
    alone = clean(grid, 2, source=src, colours=LAB, pairs=False)
    assert alone[2, 2] == 2 and alone[2, 3] == 2


def test_a_neighbour_that_keeps_another_cell_company_does_not_leave_it() -> None:
    grid = np.full((5, 6), 2)
    grid[2, 2] = 3  # the white stray cell
    grid[2, 3] = 0  # its right neighbour (dark red) ...
    grid[2, 4] = 0  # ... is the only company of this dark red cell
    src = _source(grid, {(2, 3): [99.0, 0.0, 0.0]})  # joining the white cell would suit the neighbour's photo colour
    cleaned = clean(grid, 2, source=src, colours=LAB)
    assert cleaned[2, 3] == 0 and cleaned[2, 4] == 0  # the dark red pair stays a pair
    assert cleaned[2, 2] == 3  # and the white cell, too costly to merge into grey or red, stays: detail
    assert isolated_mask(cleaned).sum() == 1
