"""Translate a PixTools `operations` list and `operation_params` into a pixmill pipeline, by PixTools' rules.

PixTools runs every operation on the upload independently (a conversion never sees the denoised image), each
with its own `quality` and `resize`. Its validation is followed: `operation_params` keys that are not among the
operations, and keys inside an operation's params other than `quality` and `resize`, are ignored; numbers are
read as Python's int() reads them. pixmill adds: `quality` for `avif`, and a top-level `resize` (its fit: inside
the box, never enlarged) for the operations that have no `resize` of their own.
"""

from __future__ import annotations

import json
from typing import Any

from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import loads
from pixmill.imaging.pipeline import SOURCE, Pipeline, parse_pipeline

FORMAT_OPERATIONS = {"jpg": "jpeg", "png": "png", "webp": "webp", "avif": "avif"}
OPERATIONS = (*FORMAT_OPERATIONS, "denoise", "metadata")
QUALITY_OPERATIONS = ("jpg", "webp", "avif")  # PixTools: jpg and webp; avif is pixmill's addition
RESIZE_OPERATIONS = ("jpg", "png", "webp", "avif", "denoise")
# PixTools' default image limits: a requested width or height above them is lowered to them.
MAX_WIDTH, MAX_HEIGHT = 1920, 1080


def _bad(field: str, message: str) -> InvalidPipeline:
    return InvalidPipeline(f"{field} {message}", [{"node": None, "field": field, "message": message}])


def _json(raw: str, field: str) -> Any:
    try:
        return loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad(field, f"is not valid JSON: {exc.msg} at position {exc.pos}") from None


def _integer(value: Any, field: str) -> int:
    """`value` read as PixTools reads it (int(): 80, 80.9 and "80" are 80)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise _bad(field, "must be an integer") from None


def _operations(raw: str) -> list[str]:
    operations = _json(raw, "operations")
    if not isinstance(operations, list):
        raise _bad("operations", 'must be a JSON array of operation names, e.g. ["webp", "metadata"]')
    if not operations:
        raise _bad("operations", "needs at least one operation")
    unknown = [o for o in operations if o not in OPERATIONS]
    if unknown:
        raise _bad("operations", f"has unknown operation(s) {unknown}; known: {list(OPERATIONS)}")
    return operations


def _resize(op: str, value: Any) -> dict[str, Any]:
    """The resize node's params for PixTools' `resize` of `op`: both sides → exactly that size; one side → the
    other follows the aspect ratio; enlarging allowed; each side lowered to PixTools' limits."""
    where = f"operation_params['{op}'].resize"
    if op not in RESIZE_OPERATIONS:
        raise _bad(where, f"is only supported for {'/'.join(RESIZE_OPERATIONS)}")
    if not isinstance(value, dict):
        raise _bad(where, "must be an object")
    if value.get("width") is None and value.get("height") is None:
        raise _bad(where, "requires width or height")
    sides: dict[str, int] = {}
    for side, limit in (("width", MAX_WIDTH), ("height", MAX_HEIGHT)):
        if value.get(side) is not None:
            n = _integer(value[side], f"{where}.{side}")
            if n <= 0:
                raise _bad(f"{where}.{side}", "must be > 0")
            sides[side] = min(n, limit)
    return {**sides, "fit": "exact" if len(sides) == 2 else "fit", "upscale": True}


def _params(raw: str | None, operations: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """Per-operation {quality, resize} as given, and pixmill's top-level resize (or None)."""
    params = _json(raw, "operation_params") if raw else {}
    if not isinstance(params, dict):
        raise _bad("operation_params", "must be a JSON object keyed by operation")
    per_op: dict[str, dict[str, Any]] = {}
    for op, value in params.items():
        if op not in operations:
            continue  # PixTools ignores params of operations not asked for
        if not isinstance(value, dict):
            raise _bad(f"operation_params['{op}']", "must be an object")
        out: dict[str, Any] = {}
        if value.get("quality") is not None:
            where = f"operation_params['{op}'].quality"
            if op not in QUALITY_OPERATIONS:
                raise _bad(where, f"is only supported for {'/'.join(QUALITY_OPERATIONS)}")
            quality = _integer(value["quality"], where)
            if not 1 <= quality <= 100:
                raise _bad(where, "must be 1..100")
            out["quality"] = quality
        if value.get("resize") is not None:
            out["resize"] = _resize(op, value["resize"])
        per_op[op] = out
    shared = params.get("resize")
    if shared is not None:
        if not isinstance(shared, dict):
            raise _bad("operation_params['resize']", "must be an object")
        extra = set(shared) - {"width", "height"}
        if extra:
            raise _bad("operation_params['resize']", f"has unknown key(s) {sorted(extra)}; allowed: height, width")
    return per_op, shared


def translate(operations_raw: str, params_raw: str | None) -> tuple[Pipeline, list[str]]:
    """The pipeline for a PixTools request, and the operations list as given (repeats included, as PixTools
    records it; each operation runs once).

    Each operation is a branch from the upload: [resize] → convert, [resize] → denoise → PNG, or metadata of the
    original. Branches with the same resize share one resize node. Each branch's result is an output named after
    its operation.
    """
    operations = _operations(operations_raw)
    per_op, shared = _params(params_raw, operations)
    nodes: list[dict[str, Any]] = []
    resize_nodes: dict[str, str] = {}
    labels: dict[str, str] = {}  # node id → where its params came from, for error messages

    def resized(op: str) -> str:
        params = per_op.get(op, {}).get("resize", shared)
        if params is None:
            return SOURCE
        key = json.dumps(params, sort_keys=True)
        if key not in resize_nodes:
            resize_nodes[key] = f"resize{len(resize_nodes) + 1}"
            labels[resize_nodes[key]] = (
                f"operation_params['{op}'].resize" if op in per_op else "operation_params['resize']"
            )
            nodes.append({"id": resize_nodes[key], "op": "resize", "params": params, "inputs": [SOURCE]})
        return resize_nodes[key]

    for op in dict.fromkeys(operations):
        if op in FORMAT_OPERATIONS:
            convert = {
                "format": FORMAT_OPERATIONS[op],
                **{k: v for k, v in per_op.get(op, {}).items() if k != "resize"},
            }
            nodes.append({"id": op, "op": "convert", "params": convert, "inputs": [resized(op)], "output": op})
        elif op == "denoise":
            nodes.append({"id": "denoise", "op": "denoise", "params": {}, "inputs": [resized(op)]})
            nodes.append(
                {"id": "denoise_png", "op": "convert", "params": {"format": "png"}, "inputs": ["denoise"], "output": op}
            )
        else:
            nodes.append({"id": "metadata", "op": "metadata", "params": {}, "inputs": [SOURCE], "output": op})
    labels.update({op: f"operation_params['{op}']" for op in operations})
    try:
        return parse_pipeline({"nodes": nodes}), operations
    except InvalidPipeline as exc:  # the shape of errors PixTools clients read: one sentence in `detail`
        parts = []
        for e in exc.errors:
            field = str(e.get("field") or "").removeprefix("params").lstrip(".")
            where = labels.get(e.get("node") or "", "operation_params") + (f".{field}" if field else "")
            parts.append(f"{where}: {e['message']}")
        raise InvalidPipeline("; ".join(parts) or exc.message, exc.errors) from None
