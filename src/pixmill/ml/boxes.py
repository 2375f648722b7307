"""What the detectors find: a box, a score, a label (and a face's landmarks); shared by faces and objects."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """One thing found in an image, in pixels of that image (boxes are clipped to it)."""

    x: float
    y: float
    width: float
    height: float
    score: float
    label: str
    # Faces: right eye, left eye, nose tip, right and left mouth corners (as seen from the face).
    landmarks: tuple[Point, ...] | None = None

    def pixel_box(self) -> tuple[int, int, int, int]:
        """The smallest whole-pixel box (x, y, width, height) that covers the detection."""
        left, top = math.floor(self.x), math.floor(self.y)
        right, bottom = math.ceil(self.x + self.width), math.ceil(self.y + self.height)
        return left, top, right - left, bottom - top


def sort_key(d: Detection) -> tuple[float, str, float, float, float, float]:
    """Best first; equal scores by label, then top to bottom, left to right, then size."""
    return -d.score, d.label, d.y, d.x, d.height, d.width


def clip_box(
    x0: float, y0: float, x1: float, y1: float, width: int, height: int
) -> tuple[float, float, float, float] | None:
    """The corners clipped to a width x height image as (x, y, w, h), or None when nothing is left inside."""
    x0, x1 = min(max(x0, 0.0), float(width)), min(max(x1, 0.0), float(width))
    y0, y1 = min(max(y0, 0.0), float(height)), min(max(y1, 0.0), float(height))
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def union(detections: Sequence[Detection]) -> tuple[int, int, int, int] | None:
    """The whole-pixel box (left, top, right, bottom) around every detection; None without any."""
    if not detections:
        return None
    boxes = [d.pixel_box() for d in detections]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[0] + b[2] for b in boxes),
        max(b[1] + b[3] for b in boxes),
    )
