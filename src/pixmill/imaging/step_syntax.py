"""The compact step syntax shared by the CLI (`--op`) and render URLs: `name:key=value,key=value`.

A value is read as JSON when it parses (numbers, true/false), else as a string. A list is its items
separated by semicolons: `thumbnails:sizes=160;320;640`, `pad:…,background=255;0;0`. A parameter that
takes a list also takes a single item (`sizes=320`).
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

from pixmill.imaging.catalogue import get_operation
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.formats import OUTPUT_FORMATS
from pixmill.imaging.limits import loads

FORMAT_SHORTHANDS = {*OUTPUT_FORMATS, "jpg"}
LIST_SEPARATOR = ";"


def _scalar(text: str) -> Any:
    try:
        return loads(text)  # bounded: a value nested too deep is read as text (and refused by its parameter)
    except json.JSONDecodeError:
        return text


def _value(text: str) -> Any:
    if LIST_SEPARATOR in text:
        return [_scalar(item.strip()) for item in text.split(LIST_SEPARATOR) if item.strip()]
    return _scalar(text)


def _takes_only_lists(annotation: Any) -> bool:
    """True for list[...] and list[...] | None: a lone item can only mean a list of one."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return True
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(typing.get_origin(a) is list for a in args)
    if origin is typing.Annotated:
        return _takes_only_lists(typing.get_args(annotation)[0])
    return False


def parse_step(text: str) -> dict[str, Any]:
    """'resize:width=800,height=600' → {'op': 'resize', 'params': {...}}; 'webp:quality=80' means convert."""
    name, _, rest = text.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidPipeline(
                f"{text!r}: parameters are key=value pairs separated by commas (list items by semicolons)",
                [{"node": name, "field": "params", "message": f"cannot read {item!r}"}],
            )
        params[key.strip()] = _value(value.strip())
    if name in FORMAT_SHORTHANDS:
        return {"op": "convert", "params": {"format": name, **params}}
    op = get_operation(name)
    if op is not None:
        for key, value in params.items():
            field = op.params.model_fields.get(key)
            if field is not None and not isinstance(value, list) and _takes_only_lists(field.annotation):
                params[key] = [value]
    return {"op": name, "params": params}
