"""Input limits, enforced before a full decode (of an image, or of JSON a client sent)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_dimension: int = 30_000
    max_frames: int = 200


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
