"""Translate a PixTools `operations` list and `operation_params` into a pixmill pipeline."""

from __future__ import annotations

import json
from typing import Any

from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import SOURCE, Pipeline, parse_pipeline

FORMAT_OPERATIONS = {"jpg": "jpeg", "png": "png", "webp": "webp", "avif": "avif"}
OPERATIONS = (*FORMAT_OPERATIONS, "denoise", "metadata")
PARAM_KEYS = {"jpg": {"quality"}, "webp": {"quality"}, "avif": {"quality"}, "png": set(), "resize": {"width", "height"}}


def _json(raw: str, field: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidPipeline(
            f"{field} is not valid JSON: {exc.msg} at position {exc.pos}",
            [{"node": None, "field": field, "message": "malformed JSON"}],
        ) from None


def _bad(field: str, message: str) -> InvalidPipeline:
    return InvalidPipeline(f"{field}: {message}", [{"node": None, "field": field, "message": message}])


def translate(operations_raw: str, params_raw: str | None) -> tuple[Pipeline, list[str]]:
    """The pipeline for a PixTools request, and the operations list as given.

    Shape: source → resize (if given) → denoise (if asked) → one convert per format; metadata reads the
    original upload. Each operation's result is an output named after it.
    """
    operations = _json(operations_raw, "operations")
    if not isinstance(operations, list) or not operations or not all(isinstance(o, str) for o in operations):
        raise _bad("operations", "must be a non-empty JSON array of operation names")
    unknown = [o for o in operations if o not in OPERATIONS]
    if unknown:
        raise _bad("operations", f"unknown operation(s) {unknown}; known: {list(OPERATIONS)}")
    if len(set(operations)) != len(operations):
        raise _bad("operations", "an operation is listed twice")
    params = _json(params_raw, "operation_params") if params_raw not in (None, "") else {}
    if not isinstance(params, dict):
        raise _bad("operation_params", "must be a JSON object keyed by operation")
    for key, value in params.items():
        if key not in PARAM_KEYS and key not in OPERATIONS:
            raise _bad("operation_params", f"unknown key {key!r}")
        if not isinstance(value, dict):
            raise _bad(f"operation_params.{key}", "must be an object")
        allowed = PARAM_KEYS.get(key, set())
        extra = set(value) - allowed
        if extra:
            hint = f"; allowed: {sorted(allowed)}" if allowed else " (it takes no parameters)"
            raise _bad(f"operation_params.{key}", f"unknown parameter(s) {sorted(extra)}{hint}")

    nodes: list[dict[str, Any]] = []
    base = SOURCE
    if "resize" in params:
        nodes.append({"id": "resize", "op": "resize", "params": params["resize"], "inputs": [base]})
        base = "resize"
    if "denoise" in operations:
        nodes.append({"id": "denoise", "op": "denoise", "params": {}, "inputs": [base], "output": "denoise"})
        base = "denoise"
    for op in operations:
        if op in FORMAT_OPERATIONS:
            convert = {"format": FORMAT_OPERATIONS[op], **params.get(op, {})}
            nodes.append({"id": op, "op": "convert", "params": convert, "inputs": [base], "output": op})
        elif op == "metadata":
            nodes.append({"id": "metadata", "op": "metadata", "params": {}, "inputs": [SOURCE], "output": op})
    return parse_pipeline({"nodes": nodes}), operations
