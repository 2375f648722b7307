"""Input limits, enforced before a full decode."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_dimension: int = 30_000
    max_frames: int = 200
