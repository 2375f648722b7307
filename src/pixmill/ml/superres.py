"""Super-resolution with OpenCV's dnn_superres networks (FSRCNN, ESPCN): pure cv2 + numpy, no Pillow.

Each network is loaded once per process and model file, then reused. Images are RGB (or grayscale)
uint8 arrays; the networks work on BGR and see the colour channels only: an alpha channel is enlarged
on its own with bicubic interpolation and put back. Large images are processed in overlapping tiles so
memory stays bounded; the tiling is fixed, so the output is deterministic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import numpy as np

from pixmill.imaging.errors import OperationUnavailable

Algorithm = Literal["fsrcnn", "espcn"]
ALGORITHMS: tuple[Algorithm, ...] = ("fsrcnn", "espcn")
SCALES = (2, 3, 4)

# Tiles are TILE x TILE input pixels, each read with OVERLAP pixels of context on every side: more than
# the networks' receptive field, so tile seams do not show.
TILE = 256
OVERLAP = 12


def _cv2() -> ModuleType:
    try:
        import cv2
    except ImportError:
        raise OperationUnavailable(
            "super-resolution needs OpenCV with the contrib modules, part of the ml extra: pip install 'pixmill[ml]'"
        ) from None
    if not hasattr(cv2, "dnn_superres"):
        raise OperationUnavailable(
            "super-resolution needs cv2.dnn_superres (opencv-contrib-python-headless), part of the ml extra: "
            "pip install 'pixmill[ml]'"
        )
    return cv2


def unavailable() -> str | None:
    """Why super-resolution cannot run in this process (OpenCV contrib missing), or None when it can."""
    try:
        _cv2()
    except OperationUnavailable as exc:
        return exc.message
    return None


@dataclass
class _Network:
    impl: Any  # cv2.dnn_superres.DnnSuperResImpl
    lock: threading.Lock  # one forward pass at a time per network


_networks: dict[tuple[Algorithm, int, str], _Network] = {}
_networks_lock = threading.Lock()


def _network(algorithm: Algorithm, scale: int, model_path: Path) -> _Network:
    key = (algorithm, scale, str(model_path))
    with _networks_lock:
        net = _networks.get(key)
        if net is None:
            cv2 = _cv2()
            impl = cv2.dnn_superres.DnnSuperResImpl_create()
            try:
                impl.readModel(str(model_path))
            except cv2.error as exc:
                raise OperationUnavailable(
                    f"the {algorithm} x{scale} model {model_path} cannot be loaded: {exc}"
                ) from None
            impl.setModel(algorithm, scale)
            net = _networks[key] = _Network(impl, threading.Lock())
    return net


def _tiled(net: _Network, bgr: np.ndarray, scale: int, tile: int, between: Callable[[], None] | None) -> np.ndarray:
    h, w = bgr.shape[:2]
    out = np.empty((h * scale, w * scale, 3), dtype=np.uint8)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            top, left = max(0, y0 - OVERLAP), max(0, x0 - OVERLAP)
            bottom, right = min(h, y1 + OVERLAP), min(w, x1 + OVERLAP)
            with net.lock:
                piece = net.impl.upsample(np.ascontiguousarray(bgr[top:bottom, left:right]))
            if piece.shape[:2] != ((bottom - top) * scale, (right - left) * scale):
                raise RuntimeError(f"the x{scale} network made {piece.shape[1]}x{piece.shape[0]} from a tile")
            oy, ox = (y0 - top) * scale, (x0 - left) * scale
            out[y0 * scale : y1 * scale, x0 * scale : x1 * scale] = piece[
                oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
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
) -> np.ndarray:
    """Enlarge `pixels` `scale` times with the network in `model_path` (an FSRCNN or ESPCN x`scale` .pb).

    pixels: uint8, H x W (grayscale), H x W x 2 (grayscale + alpha), H x W x 3 (RGB) or H x W x 4 (RGBA).
    Returns the same layout at (H * scale) x (W * scale). `between` runs after every tile (a deadline
    check, say).
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
    h, w, channels = pixels.shape
    gray = channels <= 2
    colour = pixels[..., :1] if gray else pixels[..., :3]
    alpha = pixels[..., -1] if channels in (2, 4) else None

    bgr = cv2.cvtColor(np.ascontiguousarray(colour), cv2.COLOR_GRAY2BGR if gray else cv2.COLOR_RGB2BGR)
    big = _tiled(_network(algorithm, scale, model_path), bgr, scale, max(1, tile), between)
    result = cv2.cvtColor(big, cv2.COLOR_BGR2GRAY if gray else cv2.COLOR_BGR2RGB)
    if gray:
        result = result[..., np.newaxis]
    if alpha is not None:
        big_alpha = cv2.resize(
            np.ascontiguousarray(alpha), (w * scale, h * scale), interpolation=cv2.INTER_CUBIC
        )  # uint8 resize saturates, so no clipping is needed
        result = np.dstack([result, big_alpha])
    return result[..., 0] if flat else result
