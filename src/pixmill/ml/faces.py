"""Faces with YuNet (OpenCV's FaceDetectorYN): RGB array in, detections in that array's pixels out.

Large images are shrunk so their longest side is DETECT_SIDE before detection and the boxes mapped back;
YuNet finds faces down to about 10 pixels at that size. A detector is built once per model file and input
size in each process (a few are kept) and used under a lock, as one detector is not safe to share between
threads.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from pixmill.ml.boxes import Detection, clip_box, sort_key
from pixmill.ml.errors import ModelUnavailable

# The longest side images are shrunk to for detection (YuNet's published model is 640 x 640).
DETECT_SIDE = 640
NMS_THRESHOLD = 0.3
TOP_K = 5000
# How many (model, input size) detectors a process keeps.
CACHE_SIZE = 8

_detectors: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
_lock = threading.Lock()


def import_cv2() -> Any:
    """The cv2 module, or ModelUnavailable when OpenCV is not installed."""
    try:
        return importlib.import_module("cv2")
    except ImportError:
        raise ModelUnavailable("face detection needs OpenCV, part of the ml extra: pip install 'pixmill[ml]'") from None


def detection_size(width: int, height: int, side: int = DETECT_SIDE) -> tuple[int, int]:
    """The size an image of width x height is detected at: shrunk so neither side is over `side`."""
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _detector(cv2: Any, model: Path, size: tuple[int, int]) -> Any:
    """The cached detector for `model` at `size` (call with _lock held)."""
    key = (str(model), *size)
    detector = _detectors.get(key)
    if detector is None:
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # a harmless backend warning
        try:
            detector = cv2.FaceDetectorYN.create(str(model), "", size, 0.5, NMS_THRESHOLD, TOP_K)
        finally:
            cv2.utils.logging.setLogLevel(level)
        _detectors[key] = detector
        while len(_detectors) > CACHE_SIZE:
            _detectors.popitem(last=False)
    else:
        _detectors.move_to_end(key)
    return detector


def detect_faces(rgb: np.ndarray, model: Path, min_score: float = 0.5) -> list[Detection]:
    """Faces in an RGB uint8 array (height x width x 3) scoring at least `min_score`, best first."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array of shape (height, width, 3), not {rgb.dtype} {rgb.shape}")
    cv2 = import_cv2()
    height, width = rgb.shape[:2]
    size = detection_size(width, height)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    if size != (width, height):
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    with _lock:
        detector = _detector(cv2, model, size)
        detector.setScoreThreshold(float(min_score))
        _, faces = detector.detect(bgr)
    if faces is None:
        return []
    sx, sy = width / size[0], height / size[1]
    found = []
    for row in np.asarray(faces, dtype=np.float64):
        x, y, w, h = row[0] * sx, row[1] * sy, row[2] * sx, row[3] * sy
        box = clip_box(x, y, x + w, y + h, width, height)
        score = float(row[14])
        if box is None or score < min_score:
            continue
        landmarks = tuple((float(row[4 + 2 * i] * sx), float(row[5 + 2 * i] * sy)) for i in range(5))
        found.append(Detection(*box, score=score, label="face", landmarks=landmarks))
    return sorted(found, key=sort_key)
