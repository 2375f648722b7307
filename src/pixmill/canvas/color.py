"""Colour science for the canvas: 8-bit sRGB → CIELAB (D65) and the CIEDE2000 colour difference, vectorised.

CIEDE2000 follows Sharma, Wu and Dalal (2005) with kL = kC = kH = 1, including their conventions for the
hue of a neutral colour (0), the hue difference when either chroma is 0 (0) and the mean hue when either
chroma is 0 (the sum of the two hues).
"""

from __future__ import annotations

import math

import numpy as np

from pixmill.canvas.types import Palette

# D65 reference white (CIE 1931 2°), Y normalised to 1.
WHITE_D65 = (0.95047, 1.0, 1.08883)

# Linear sRGB → XYZ (IEC 61966-2-1, D65).
_RGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)

_EPSILON = (6 / 29) ** 3
_KAPPA_LINEAR = 1 / (3 * (6 / 29) ** 2)
_POW25_7 = 25.0**7
_DEG = np.pi / 180.0
_TAU = 2.0 * np.pi
# Pairs per kernel call: temporaries stay cache-sized.
_BLOCK = 8192
_H275 = 275.0 * _DEG
_W25 = 25.0 * _DEG
_DTHETA_MAX = 30.0 * _DEG
_T1C, _T1S = 0.17 * np.cos(30 * _DEG), 0.17 * np.sin(30 * _DEG)
_T3C, _T3S = 0.32 * np.cos(6 * _DEG), 0.32 * np.sin(6 * _DEG)
_T4C, _T4S = 0.20 * np.cos(63 * _DEG), 0.20 * np.sin(63 * _DEG)


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """sRGB channel values 0..255 (any numeric dtype) → linear light 0..1 (float64)."""
    c = np.asarray(values, dtype=np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


# Linear light of every 8-bit value: uint8 input is converted by table look-up.
_LINEAR_LUT = srgb_to_linear(np.arange(256))


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) sRGB (uint8, or floats on the 0..255 scale) → (..., 3) CIELAB float64 under D65."""
    rgb = np.asarray(rgb)
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"expected (..., 3) RGB values, got shape {rgb.shape}")
    linear = _LINEAR_LUT[rgb] if rgb.dtype == np.uint8 else srgb_to_linear(rgb)
    r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
    m = _RGB_TO_XYZ
    # Written out rather than a matrix product: no BLAS call (and its threads) for a 3x3 transform.
    xyz = np.stack(
        [
            (m[0, 0] * r + m[0, 1] * g + m[0, 2] * b) / WHITE_D65[0],
            (m[1, 0] * r + m[1, 1] * g + m[1, 2] * b) / WHITE_D65[1],
            (m[2, 0] * r + m[2, 1] * g + m[2, 2] * b) / WHITE_D65[2],
        ],
        axis=-1,
    )
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), xyz * _KAPPA_LINEAR + 4 / 29)
    lab = np.empty(f.shape, dtype=np.float64)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def palette_lab(palette: Palette) -> np.ndarray:
    """(n, 3) CIELAB of the palette's colours, in palette order."""
    return srgb_to_lab(palette.rgb_array())


def _channels(lab: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contiguous 1-d L, a, b of `lab` broadcast to `shape` (one copy per channel, whatever the caller's layout,
    so the kernel always sees the same memory layout and results never depend on it)."""
    light, a, b = (
        np.ascontiguousarray(np.broadcast_to(lab[..., i], shape), dtype=np.float64).ravel() for i in range(3)
    )
    return light, a, b


def _hue(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """atan2 hue in radians 0..2π; 0 for a neutral colour (a = b = 0)."""
    h = np.arctan2(b, a)
    h[h < 0.0] += _TAU
    return h


def _pow7(x: np.ndarray) -> np.ndarray:
    x2 = x * x
    return x2 * x2 * x2 * x


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 ΔE between (..., 3) CIELAB arrays (broadcast against each other); float64 of the broadcast shape.

    Each pair's value depends only on that pair (computed in fixed-size blocks of contiguous memory), so the same
    pair gives the same bits in any call. Not exactly symmetric in floating point: keep the argument order.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.shape[-1:] != (3,) or lab2.shape[-1:] != (3,):
        raise ValueError(f"expected (..., 3) CIELAB arrays, got {lab1.shape} and {lab2.shape}")
    shape = np.broadcast_shapes(lab1.shape[:-1], lab2.shape[:-1])
    l1, a1, b1 = _channels(lab1, shape)
    l2, a2, b2 = _channels(lab2, shape)
    n = len(l1)
    if n <= _BLOCK:
        return _ciede2000_kernel(l1, a1, b1, l2, a2, b2).reshape(shape)
    out = np.empty(n, dtype=np.float64)
    for i in range(0, n, _BLOCK):
        j = i + _BLOCK
        out[i:j] = _ciede2000_kernel(l1[i:j], a1[i:j], b1[i:j], l2[i:j], a2[i:j], b2[i:j])
    return out.reshape(shape)


def _ciede2000_kernel(
    l1: np.ndarray, a1: np.ndarray, b1: np.ndarray, l2: np.ndarray, a2: np.ndarray, b2: np.ndarray
) -> np.ndarray:
    """CIEDE2000 of 1-d contiguous channel arrays (kL = kC = kH = 1)."""
    c_mean = 0.5 * (np.sqrt(a1 * a1 + b1 * b1) + np.sqrt(a2 * a2 + b2 * b2))
    c7 = _pow7(c_mean)
    g1 = 1.5 - 0.5 * np.sqrt(c7 / (c7 + _POW25_7))  # 1 + G
    a1p = a1 * g1
    a2p = a2 * g1
    c1p = np.sqrt(a1p * a1p + b1 * b1)
    c2p = np.sqrt(a2p * a2p + b2 * b2)
    h1p = _hue(b1, a1p)
    h2p = _hue(b2, a2p)

    chroma_product = c1p * c2p
    neutral = chroma_product == 0.0
    dh = h2p - h1p
    h_sum = h1p + h2p
    far = np.abs(dh) > np.pi
    dh -= np.where(far, np.copysign(_TAU, dh), 0.0)
    dh[neutral] = 0.0
    d_hp = 2.0 * np.sqrt(chroma_product) * np.sin(0.5 * dh)

    # Mean hue: the midpoint of the shorter arc; the sum of the hues when either colour is neutral.
    h_mean = 0.5 * h_sum
    h_mean[far & (h_sum < _TAU)] += np.pi
    h_mean[far & (h_sum >= _TAU)] -= np.pi
    h_mean = np.where(neutral, h_sum, h_mean)

    # T = 1 - 0.17 cos(h - 30°) + 0.24 cos(2h) + 0.32 cos(3h + 6°) - 0.20 cos(4h - 63°), by multiple angles.
    c1 = np.cos(h_mean)
    s1 = np.sin(h_mean)
    c2 = 2.0 * c1 * c1 - 1.0
    s2 = 2.0 * s1 * c1
    c3 = c2 * c1 - s2 * s1
    s3 = s2 * c1 + c2 * s1
    c4 = 2.0 * c2 * c2 - 1.0
    s4 = 2.0 * s2 * c2
    t = (1.0 - _T1C * c1 - _T1S * s1) + 0.24 * c2 + (_T3C * c3 - _T3S * s3) - (_T4C * c4 + _T4S * s4)

    l_mean = 0.5 * (l1 + l2)
    cp_mean = 0.5 * (c1p + c2p)
    l50 = (l_mean - 50.0) ** 2
    s_l = 1.0 + 0.015 * l50 / np.sqrt(20.0 + l50)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    cp7 = _pow7(cp_mean)
    r_c = 2.0 * np.sqrt(cp7 / (cp7 + _POW25_7))
    z = (h_mean - _H275) * (1.0 / _W25)
    d_theta2 = (2.0 * _DTHETA_MAX) * np.exp(-(z * z))  # 2·Δθ in radians
    r_t = -np.sin(d_theta2) * r_c

    x_l = (l2 - l1) / s_l
    x_c = (c2p - c1p) / s_c
    x_h = d_hp / s_h
    return np.sqrt(np.maximum(x_l * x_l + x_c * x_c + x_h * x_h + r_t * x_c * x_h, 0.0))


def ciede2000_scalar(l1: float, a1: float, b1: float, l2: float, a2: float, b2: float) -> float:
    """CIEDE2000 of one pair in plain Python floats (fast for one pair; the array version is for many)."""
    c_mean = 0.5 * (math.hypot(a1, b1) + math.hypot(a2, b2))
    c7 = c_mean**7
    g1 = 1.5 - 0.5 * math.sqrt(c7 / (c7 + _POW25_7))
    a1p, a2p = a1 * g1, a2 * g1
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.atan2(b1, a1p) % _TAU if (a1p or b1) else 0.0
    h2p = math.atan2(b2, a2p) % _TAU if (a2p or b2) else 0.0
    product = c1p * c2p
    h_sum = h1p + h2p
    if product == 0.0:
        dh, h_mean = 0.0, h_sum
    else:
        dh = h2p - h1p
        if abs(dh) > math.pi:
            dh -= math.copysign(_TAU, dh)
            h_mean = 0.5 * h_sum + (math.pi if h_sum < _TAU else -math.pi)
        else:
            h_mean = 0.5 * h_sum
    d_hp = 2.0 * math.sqrt(product) * math.sin(0.5 * dh)
    t = (
        1.0
        - 0.17 * math.cos(h_mean - 30 * _DEG)
        + 0.24 * math.cos(2 * h_mean)
        + 0.32 * math.cos(3 * h_mean + 6 * _DEG)
        - 0.20 * math.cos(4 * h_mean - 63 * _DEG)
    )
    l50 = (0.5 * (l1 + l2) - 50.0) ** 2
    cp_mean = 0.5 * (c1p + c2p)
    s_l = 1.0 + 0.015 * l50 / math.sqrt(20.0 + l50)
    s_c = 1.0 + 0.045 * cp_mean
    s_h = 1.0 + 0.015 * cp_mean * t
    cp7 = cp_mean**7
    r_t = (
        -math.sin(2.0 * _DTHETA_MAX * math.exp(-(((h_mean - _H275) / _W25) ** 2)))
        * 2.0
        * math.sqrt(cp7 / (cp7 + _POW25_7))
    )
    x_l = (l2 - l1) / s_l
    x_c = (c2p - c1p) / s_c
    x_h = d_hp / s_h
    return math.sqrt(max(x_l * x_l + x_c * x_c + x_h * x_h + r_t * x_c * x_h, 0.0))


def ciede2000_matrix(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """(n, m) CIEDE2000 between every row of (n, 3) `lab1` and every row of (m, 3) `lab2`."""
    return ciede2000(np.asarray(lab1)[:, None, :], np.asarray(lab2)[None, :, :])
