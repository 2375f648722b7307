from __future__ import annotations

import numpy as np
import pytest

from pixmill.canvas.color import ciede2000, ciede2000_matrix, ciede2000_scalar, srgb_to_lab

# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes, supplementary test
# data, and mathematical observations", Table 1: (L1, a1, b1), (L2, a2, b2), ΔE00.
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_the_sharma_table_both_ways() -> None:
    first = np.array([p[0] for p in SHARMA])
    second = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    np.testing.assert_allclose(ciede2000(first, second), expected, atol=5e-5)
    np.testing.assert_allclose(ciede2000(second, first), expected, atol=5e-5)


def test_the_scalar_ciede2000_agrees() -> None:
    for first, second, expected in SHARMA:
        assert ciede2000_scalar(*first, *second) == pytest.approx(expected, abs=5e-5)
    rng = np.random.default_rng(3)
    lab1 = rng.uniform([0, -100, -100], [100, 100, 100], (3000, 3))
    lab2 = rng.uniform([0, -100, -100], [100, 100, 100], (3000, 3))
    lab1[:300, 1:] = 0.0  # neutral colours: the hue conventions
    lab2[200:400, 1:] = 0.0
    scalar = [ciede2000_scalar(*p, *q) for p, q in zip(lab1.tolist(), lab2.tolist(), strict=True)]
    np.testing.assert_allclose(scalar, ciede2000(lab1, lab2), rtol=0, atol=1e-10)


def test_ciede2000_shapes_identity_and_blocks() -> None:
    rng = np.random.default_rng(0)
    lab = rng.uniform([0, -100, -100], [100, 100, 100], (20_000, 3))
    assert np.all(ciede2000(lab, lab) == 0.0)
    other = lab[::-1].copy()
    whole = ciede2000(lab, other)  # several internal blocks
    assert whole.shape == (20_000,)
    pieces = np.concatenate([ciede2000(lab[i : i + 777], other[i : i + 777]) for i in range(0, 20_000, 777)])
    assert np.array_equal(whole, pieces)  # a pair's value does not depend on its neighbours
    matrix = ciede2000_matrix(lab[:5], lab[:7])
    assert matrix.shape == (5, 7)
    assert matrix[2, 4] == ciede2000(lab[2], lab[4])
    assert ciede2000(lab[0], lab[1]).shape == ()


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
        ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
        ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
        ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
        ((128, 128, 128), (53.5850, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab_reference_values(rgb: tuple[int, int, int], lab: tuple[float, float, float]) -> None:
    got = srgb_to_lab(np.array([rgb], dtype=np.uint8))[0]
    np.testing.assert_allclose(got, lab, atol=2e-3)


def test_srgb_to_lab_uint8_and_float_agree() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (4, 5, 3)).astype(np.uint8)
    as_uint8 = srgb_to_lab(rgb)
    assert as_uint8.shape == (4, 5, 3)
    np.testing.assert_allclose(as_uint8, srgb_to_lab(rgb.astype(np.float64)), atol=1e-9)
    with pytest.raises(ValueError):
        srgb_to_lab(np.zeros((3, 4), dtype=np.uint8))
