"""pixelate: every block (the partial ones at the edges too) becomes the mean of its pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests import images
from tests.imaging.filter_helpers import pixels, refusals, run_node


def blocks(height: int, width: int, block: int) -> list[tuple[slice, slice]]:
    return [
        (slice(y, min(y + block, height)), slice(x, min(x + block, width)))
        for y in range(0, height, block)
        for x in range(0, width, block)
    ]


@pytest.mark.parametrize(("size", "block"), [((70, 50), 16), ((64, 64), 8), ((33, 7), 5), ((20, 10), 64)])
def test_every_block_is_uniform_and_holds_the_mean(size: tuple[int, int], block: int) -> None:
    src = images.noise(*size, seed=block)
    out = run_node("pixelate", {"block": block}, src)
    assert out.size == src.size and out.mode == "RGB"
    a, b = pixels(src), pixels(out)
    for rows, cols in blocks(size[1], size[0], block):
        tile = b[rows, cols].reshape(-1, 3)
        assert (tile == tile[0]).all(), (rows, cols)
        assert np.abs(tile[0] - a[rows, cols].reshape(-1, 3).mean(axis=0)).max() < 1  # the mean, rounded


def test_neighbouring_blocks_differ_on_noise() -> None:
    out = pixels(run_node("pixelate", {"block": 10}, images.noise(40, 40, seed=9)))
    assert len({tuple(out[y, x]) for y in range(0, 40, 10) for x in range(0, 40, 10)}) == 16


def test_grey_images_stay_grey() -> None:
    src = images.noise(30, 30).convert("L")
    out = run_node("pixelate", {"block": 3}, src)
    assert out.mode == "L"
    assert abs(pixels(out)[0, 0, 0] - pixels(src)[:3, :3].mean()) < 1


def test_transparent_pixels_do_not_lend_their_colour_to_the_block() -> None:
    src = Image.new("RGBA", (8, 8), (0, 255, 0, 0))  # invisible green
    src.paste((255, 0, 0, 255), (0, 0, 8, 4))  # opaque red top half
    out = run_node("pixelate", {"block": 8}, src)
    assert out.mode == "RGBA"
    r, g, b, a = (int(v) for v in pixels(out)[5, 5])
    assert (r, g, b) == (255, 0, 0)
    assert abs(a - 128) <= 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "params.block"),
        ({"block": 1}, "params.block"),
        ({"block": 513}, "params.block"),
        ({"block": 2.5}, "params.block"),
    ],
)
def test_bad_parameters_are_refused_with_node_and_field(params: dict, field: str) -> None:
    assert [f for f, _ in refusals("pixelate", params)] == [field]
