"""JSON from clients is bounded in depth before it is parsed (Python's parser recurses once per level)."""

from __future__ import annotations

import json

import pytest

from pixmill.imaging.limits import MAX_JSON_DEPTH, JsonTooDeep, json_depth_exceeds, loads


def test_depth_is_counted_over_arrays_and_objects_but_not_inside_strings() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert not json_depth_exceeds(at_limit)
    assert json_depth_exceeds("[" + at_limit + "]")
    assert not json_depth_exceeds('{"a": "[[[[[[[[[[[[", "b": "\\"{{{{{{"}', max_depth=1)
    assert json_depth_exceeds('{"a": [{"b": []}]}', max_depth=3)
    assert not json_depth_exceeds('{"a": [{"b": []}]}', max_depth=4)
    assert json_depth_exceeds(b"[" * 100_000)  # unclosed: refused all the same


def test_loads_refuses_deep_nesting_and_non_utf8_as_malformed_json() -> None:
    assert loads('{"pipeline": [{"op": "resize"}]}') == {"pipeline": [{"op": "resize"}]}
    with pytest.raises(JsonTooDeep):
        loads("[" * 100_000 + "]" * 100_000)  # json.loads would raise RecursionError
    with pytest.raises(json.JSONDecodeError, match="not UTF-8"):
        loads(b'{"a": "\xff"}')
