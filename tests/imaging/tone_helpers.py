"""Helpers for the colour and tone operation tests: run one operation on an image made in the test."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def run_op(op: str, params: dict[str, Any], im: Image.Image, **save: object) -> Image.Image:
    """`im` saved losslessly as PNG, run through `op` and decoded again."""
    pipeline = parse_pipeline([{"op": op, "params": params}])
    (out,) = run_pipeline(pipeline, images.encode(im, "PNG", **save), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    assert out.value.format == "PNG"
    return images.decode(out.value.data)


def refused_fields(op: str, params: dict[str, Any]) -> list[str | None]:
    """The fields that parse_pipeline names when it refuses `op` with `params` (the node is step1)."""
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": op, "params": params}])
    assert all(e["node"] == "step1" for e in err.value.errors)
    return [e["field"] for e in err.value.errors]


def with_alpha_ramp(im: Image.Image) -> Image.Image:
    """`im` (L or RGB) with an alpha channel ramping 0-255 from left to right."""
    ramp = Image.linear_gradient("L").rotate(90).resize(im.size)
    out = im.copy()
    out.putalpha(ramp)
    return out


def two_tone(
    mode: str, left: float | tuple[int, ...], right: float | tuple[int, ...], size: tuple[int, int] = (20, 10)
) -> Image.Image:
    """An image whose left half is `left` and right half `right`."""
    im = Image.new(mode, size, left)
    im.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return im
