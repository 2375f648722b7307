"""The compact step syntax shared by the CLI (`--op`) and render URLs: `name:key=value,key=value`."""

from __future__ import annotations

import json
from typing import Any

from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.formats import OUTPUT_FORMATS

FORMAT_SHORTHANDS = {*OUTPUT_FORMATS, "jpg"}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_step(text: str) -> dict[str, Any]:
    """'resize:width=800,height=600' → {'op': 'resize', 'params': {...}}; 'webp:quality=80' means convert.

    Values are read as JSON when they parse (numbers, true/false), else as strings.
    """
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidPipeline(
                f"{text!r}: parameters are key=value pairs separated by commas",
                [{"node": name, "field": "params", "message": f"cannot read {item!r}"}],
            )
        params[key.strip()] = _value(value.strip())
    if name in FORMAT_SHORTHANDS:
        return {"op": "convert", "params": {"format": name, **params}}
    return {"op": name, "params": params}
