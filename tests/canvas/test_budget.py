from __future__ import annotations

import numpy as np
import pytest

from pixmill.canvas.budget import choose_colors, kmeans, snap_distinct
from pixmill.canvas.color import srgb_to_lab
from pixmill.canvas.mapping import nearest


def photo_like_cells(seed: int = 0, n: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    """Smooth colour fields with noise, as distinct Lab colours and their cell counts."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    rgb = np.stack([200 * t + 30, 120 + 80 * np.sin(6 * t), 255 * (1 - t) ** 2], axis=1)
    rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
    unique, counts = np.unique(rgb, axis=0, return_counts=True)
    return srgb_to_lab(unique), counts.astype(np.float64)


@pytest.mark.parametrize("k", [1, 5, 40])
def test_the_budget_is_respected_and_distinct(k: int, dmc_lab: np.ndarray) -> None:
    points, weights = photo_like_cells()
    colours = choose_colors(points, weights, dmc_lab, k).colors
    assert 1 <= len(colours) <= k
    assert len(set(colours.tolist())) == len(colours)
    assert np.all(np.diff(colours) > 0)
    assert colours.min() >= 0 and colours.max() < len(dmc_lab)


def test_pure_palette_colours_are_chosen_exactly(dmc_lab: np.ndarray) -> None:
    picked = np.array([3, 47, 120, 250, 251, 333, 489])
    counts = np.array([5000, 3, 800, 120, 40, 2000, 9], dtype=np.float64)
    colours = choose_colors(dmc_lab[picked], counts, dmc_lab, 40).colors
    assert colours.tolist() == picked.tolist()


def test_fewer_colours_than_asked_picks_the_best_subset(dmc_lab: np.ndarray) -> None:
    picked = np.array([10, 60, 200, 300])
    counts = np.array([1000, 1000, 1000, 1], dtype=np.float64)
    colours = choose_colors(dmc_lab[picked], counts, dmc_lab, 3).colors
    assert colours.tolist() == [10, 60, 200]


def test_the_budget_is_deterministic_and_beats_plain_frequency(dmc_lab: np.ndarray) -> None:
    points, weights = photo_like_cells(seed=4)
    first = choose_colors(points, weights, dmc_lab, 12).colors
    assert np.array_equal(first, choose_colors(points, weights, dmc_lab, 12).colors)
    unconstrained = nearest(points, dmc_lab)
    votes = np.bincount(unconstrained.index, weights=weights, minlength=len(dmc_lab))
    frequent = np.sort(np.argsort(-votes, kind="stable")[:12])

    def total(colours: np.ndarray) -> float:
        return float((nearest(points, dmc_lab[colours]).delta_e * weights).sum())

    assert total(first) < total(frequent)


def test_kmeans_and_snapping(dmc_lab: np.ndarray) -> None:
    points, weights = photo_like_cells(seed=2, n=2000)
    centres, mass = kmeans(points, weights, 8, seed=1)
    assert centres.shape == (8, 3)
    assert np.all(np.diff(mass) <= 0) and mass.sum() == weights.sum()
    snapped = snap_distinct(centres, dmc_lab)
    assert len(set(snapped.tolist())) == 8
    few, few_mass = kmeans(points[:3], weights[:3], 8)
    assert len(few) == 3 and few_mass.sum() == weights[:3].sum()
    with pytest.raises(ValueError):
        choose_colors(points[:0], weights[:0], dmc_lab, 4)


def test_a_budget_above_the_palette_size_keeps_the_palette(dmc_lab: np.ndarray) -> None:
    points, weights = photo_like_cells(n=500)
    colours = choose_colors(points, weights, dmc_lab[:30], 40).colors
    assert colours.tolist() == list(range(30))
