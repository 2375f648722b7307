"""The requests PixTools' web page (app/static/app.js of NFRohan/PixTools) builds, written anew in Python.

What the page does, and so what these helpers do:
- `operations` is JSON.stringify of the ticked boxes in page order (jpg, png, webp, avif, denoise, metadata);
  a format equal to the upload's own (by file extension) cannot be ticked.
- `quality` (the slider, 1..100, default 80) goes into the params of jpg and webp only.
- `resize` goes into the params of jpg, png, webp, avif and denoise when width or height is typed; each typed
  side is JavaScript's Number() of the text, so "300" → 300, "12.5" → 12.5, and text that is no number → NaN,
  which JSON.stringify writes as null.
- `operation_params` is sent only when some operation has params; `webhook_url` only when typed.
- The upload is sent with the browser's type for the file; a fresh Idempotency-Key header with every click.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

PAGE_ORDER = ("jpg", "png", "webp", "avif", "denoise", "metadata")
QUALITY_OPS = {"jpg", "webp"}
RESIZE_OPS = {"jpg", "png", "webp", "avif", "denoise"}


def js_number(text: str) -> int | float | None:
    """JavaScript's Number(text) as JSON.stringify writes it (NaN → null)."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    if math.isnan(value) or math.isinf(value):
        return None
    return int(value) if value.is_integer() else value


def operation_params(ops: list[str], quality: str = "80", width: str = "", height: str = "") -> dict[str, Any]:
    width, height = width.strip(), height.strip()
    params: dict[str, Any] = {}
    for op in ops:
        p: dict[str, Any] = {}
        if op in QUALITY_OPS:
            p["quality"] = js_number(quality)
        if (width or height) and op in RESIZE_OPS:
            resize: dict[str, Any] = {}
            if width:
                resize["width"] = js_number(width)
            if height:
                resize["height"] = js_number(height)
            p["resize"] = resize
        if p:
            params[op] = p
    return params


def form(
    ticked: set[str], quality: str = "80", width: str = "", height: str = "", webhook_url: str = ""
) -> dict[str, str]:
    """The form fields of one click on PROCESS, in the order the page appends them."""
    ops = [op for op in PAGE_ORDER if op in ticked]
    fields = {"operations": json.dumps(ops, separators=(",", ":"))}
    params = operation_params(ops, quality, width, height)
    if params:
        fields["operation_params"] = json.dumps(params, separators=(",", ":"))
    if webhook_url.strip():
        fields["webhook_url"] = webhook_url.strip()
    return fields


def headers() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}
