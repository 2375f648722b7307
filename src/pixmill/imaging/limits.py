"""Input limits, enforced before a full decode (of an image, or of JSON a client sent); and the same pixel and
side limits on every output an operation would make, checked before it is allocated."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

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


# JSON from clients (request bodies, form fields, step values) may nest this deep and no deeper. Python's parser
# recurses once per level, so a body nested 100,000 deep would exhaust the stack; no pipeline needs more than a few.
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: linear time even on an unterminated string
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = np.zeros(256, dtype=np.int64) - 1  # per byte of the brackets left: +1 opens a level, -1 closes one
_OPENING[[ord("["), ord("{")]] = 1
_CHUNK = 1 << 20


class JsonTooDeep(json.JSONDecodeError):
    """JSON nested deeper than MAX_JSON_DEPTH: refused before parsing."""


def json_depth_exceeds(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether `data` nests arrays and objects more than `max_depth` deep, judged without parsing it."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET)
    depth = 0
    for start in range(0, len(brackets), _CHUNK):  # the running depth, a chunk at a time (bounded memory)
        running = depth + np.cumsum(_OPENING[np.frombuffer(brackets[start : start + _CHUNK], dtype=np.uint8)])
        if int(running.max()) > max_depth:
            return True
        depth = int(running[-1])
    return False


def loads(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads for text from clients: nesting is bounded first, and bytes that are not UTF-8 are refused, both
    as json.JSONDecodeError (the error every caller already handles as malformed JSON)."""
    if json_depth_exceeds(data, max_depth):
        raise JsonTooDeep(f"nested more than {max_depth} levels deep", "", 0)
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise json.JSONDecodeError("the text is not UTF-8", "", 0) from None
