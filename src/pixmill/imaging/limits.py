"""Input limits, enforced before a full decode; and the same pixel and side limits on every output an operation
would make, checked before it is allocated."""

from __future__ import annotations

from dataclasses import dataclass

from pixmill.imaging.errors import OutputTooLarge


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_dimension: int = 30_000
    max_frames: int = 200


def check_output_size(size: tuple[int, int], limits: Limits, field: str = "params", frames: int = 1) -> None:
    """Refuse an output of `size` (times `frames`) over the limits decoding applies, before it is allocated.

    field: the parameter that asks for the size, named in the error; the pipeline adds the node.
    """
    w, h = size
    if max(w, h) <= limits.max_dimension and w * h * max(frames, 1) <= limits.max_pixels:
        return
    made = f"{w}x{h} = {w * h} pixels" if frames <= 1 else f"{frames} frames of {w}x{h} = {frames * w * h} pixels"
    message = (
        f"the result would be {made}, over the limits ({limits.max_dimension} pixels a side, "
        f"{limits.max_pixels} pixels in all)"
    )
    raise OutputTooLarge(message, [{"node": None, "field": field, "message": message}])
