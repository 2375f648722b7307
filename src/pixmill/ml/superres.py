"""Super-resolution with FSRCNN and ESPCN on onnxruntime: pure numpy + cv2 colour conversions, no Pillow.

The networks are the ones OpenCV's dnn_superres ran, exported to ONNX with the same weights, so the result
does not depend on which OpenCV is installed (5.1 dropped the TensorFlow importer the .pb files needed).
They see luma only, as dnn_superres fed them: the Y plane of YCrCb, scaled to 0-1, goes through the network;
Cr and Cb are enlarged bilinearly; the three are merged and converted back. Grayscale goes through as Y. An
alpha channel is enlarged on its own with bicubic interpolation and put back. Large images are processed in
overlapping tiles so memory stays bounded; the tiling is fixed, so the output is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from pixmill.ml import onnx
from pixmill.ml.errors import ModelUnavailable

Algorithm = Literal["fsrcnn", "espcn"]
ALGORITHMS: tuple[Algorithm, ...] = ("fsrcnn", "espcn")
SCALES = (2, 3, 4)
PURPOSE = "super-resolution"

# Tiles are TILE x TILE input pixels, each read with OVERLAP pixels of context on every side: more than
# the networks' receptive field, so tile seams do not show.
TILE = 256
OVERLAP = 12


def _cv2() -> ModuleType:
    try:
        import cv2
    except ImportError:
        raise ModelUnavailable(f"{PURPOSE} needs OpenCV, part of the ml extra: pip install 'pixmill[ml]'") from None
    return cv2


def unavailable() -> str | None:
    """Why super-resolution cannot run in this process (OpenCV or onnxruntime missing), or None when it can."""
    try:
        _cv2()
        onnx.onnxruntime(PURPOSE)
    except ModelUnavailable as exc:
        return exc.message
    return None


def _luma_tiled(net: Any, y: np.ndarray, scale: int, tile: int, between: Callable[[], None] | None) -> np.ndarray:
    """The network's enlargement of the uint8 luma plane `y`, tile by tile."""
    h, w = y.shape
    (name,) = [i.name for i in net.get_inputs()]
    out = np.empty((h * scale, w * scale), dtype=np.uint8)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            top, left = max(0, y0 - OVERLAP), max(0, x0 - OVERLAP)
            bottom, right = min(h, y1 + OVERLAP), min(w, x1 + OVERLAP)
            piece = y[top:bottom, left:right].astype(np.float32) * np.float32(1 / 255)
            (big,) = net.run(None, {name: piece[np.newaxis, np.newaxis]})
            big = big[0, 0]
            if big.shape != ((bottom - top) * scale, (right - left) * scale):
                raise RuntimeError(f"the x{scale} network made {big.shape[1]}x{big.shape[0]} from a tile")
            oy, ox = (y0 - top) * scale, (x0 - left) * scale
            crop = big[oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale]
            out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = np.clip(np.rint(crop * 255), 0, 255)
            if between is not None:
                between()
    return out


def upsample(
    pixels: np.ndarray,
    algorithm: Algorithm,
    scale: int,
    model_path: Path,
    *,
    tile: int = TILE,
    between: Callable[[], None] | None = None,
    device: str = "cpu",
) -> np.ndarray:
    """Enlarge `pixels` `scale` times with the network in `model_path` (an FSRCNN or ESPCN x`scale` .onnx).

    pixels: uint8, H x W (grayscale), H x W x 2 (grayscale + alpha), H x W x 3 (RGB) or H x W x 4 (RGBA).
    Returns the same layout at (H * scale) x (W * scale). `between` runs after every tile (a deadline
    check, say); `device` is the ML device setting (auto, cpu or cuda) for onnxruntime's providers.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown super-resolution algorithm {algorithm!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, not {scale}")
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, not {pixels.dtype}")
    flat = pixels.ndim == 2
    if flat:
        pixels = pixels[..., np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"expected H x W, or H x W x 1-4 pixels, not shape {pixels.shape}")
    cv2 = _cv2()
    net = onnx.session(model_path, device, purpose=PURPOSE)
    h, w, channels = pixels.shape
    size = (w * scale, h * scale)
    alpha = pixels[..., -1] if channels in (2, 4) else None

    if channels <= 2:
        result = _luma_tiled(net, np.ascontiguousarray(pixels[..., 0]), scale, max(1, tile), between)[..., np.newaxis]
    else:
        ycrcb = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2YCrCb)
        big_y = _luma_tiled(net, np.ascontiguousarray(ycrcb[..., 0]), scale, max(1, tile), between)
        big_crcb = cv2.resize(np.ascontiguousarray(ycrcb[..., 1:]), size, interpolation=cv2.INTER_LINEAR)
        result = cv2.cvtColor(np.dstack([big_y, big_crcb]), cv2.COLOR_YCrCb2RGB)
    if alpha is not None:
        big_alpha = cv2.resize(
            np.ascontiguousarray(alpha), size, interpolation=cv2.INTER_CUBIC
        )  # uint8 resize saturates, so no clipping is needed
        result = np.dstack([result, big_alpha])
    return result[..., 0] if flat else result
