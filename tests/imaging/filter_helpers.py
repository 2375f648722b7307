"""Helpers for the filter tests (blur, sharpen, pixelate, watermark, round_corners)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def png(im: Image.Image) -> bytes:
    return images.encode(im, "PNG")


def run_node(
    op: str,
    params: dict[str, Any],
    im: Image.Image,
    inputs: list[str] | None = None,
    assets: dict[str, Image.Image] | None = None,
) -> Image.Image:
    """`im` saved as PNG, run through one `op` node (with `inputs` and PNG `assets`) and decoded again."""
    node: dict[str, Any] = {"id": "n", "op": op, "params": params, "output": "out"}
    if inputs is not None:
        node["inputs"] = inputs
    pipeline = parse_pipeline({"nodes": [node]})
    blobs = {key: png(value) for key, value in (assets or {}).items()}
    (out,) = run_pipeline(pipeline, png(im), RunContext(), assets=blobs).outputs
    assert isinstance(out.value, EncodedValue)
    assert out.value.format == "PNG"
    return images.decode(out.value.data)


def refusals(op: str, params: dict[str, Any], inputs: list[str] | None = None) -> list[tuple[str | None, str]]:
    """(field, message) for every problem parse_pipeline reports on the `op` node (whose id is n)."""
    node: dict[str, Any] = {"id": "n", "op": op, "params": params, "output": "out"}
    if inputs is not None:
        node["inputs"] = inputs
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline({"nodes": [node]})
    assert all(e["node"] == "n" for e in err.value.errors), err.value.errors
    return [(e["field"], e["message"]) for e in err.value.errors]


def pixels(im: Image.Image) -> np.ndarray:
    """The image as an int array (height, width, channels)."""
    a = np.asarray(im).astype(np.int64)
    return a[:, :, None] if a.ndim == 2 else a


def grey_noise(width: int, height: int, seed: int = 0) -> Image.Image:
    return images.noise(width, height, seed).convert("L")
