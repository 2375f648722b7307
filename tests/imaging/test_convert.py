from __future__ import annotations

import pytest

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.decode import decode
from pixmill.imaging.encode import encode
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images


def _noise_png(size: int) -> bytes:
    return images.encode(images.noise(size, size, seed=7), "PNG")


def _convert(data: bytes, params: dict) -> EncodedValue:
    (out,) = run_pipeline(parse_pipeline([{"op": "convert", "params": params}]), data, RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    return out.value


@pytest.mark.parametrize(("fmt", "side"), [("jpeg", 160), ("webp", 160), ("avif", 64)])
def test_max_bytes_picks_the_highest_quality_that_fits(fmt: str, side: int) -> None:
    data = _noise_png(side)
    src = decode(data, Limits())
    low, high = len(encode(src, fmt, quality=1).data), len(encode(src, fmt, quality=95).data)
    budget = (low + high) // 2
    result = _convert(data, {"format": fmt, "max_bytes": budget})
    assert len(result.data) <= budget
    assert images.decode(result.data).size == (side, side)
    chosen = [q for q in range(1, 96) if encode(src, fmt, quality=q).data == result.data]
    assert chosen, "the result is not the encoding at any quality"
    q = max(chosen)
    assert q < 95
    assert len(encode(src, fmt, quality=q + 1).data) > budget  # one step better would not have fitted


def test_max_bytes_is_capped_by_quality_and_a_roomy_budget_changes_nothing() -> None:
    data = _noise_png(96)
    src = decode(data, Limits())
    capped = _convert(data, {"format": "jpeg", "quality": 40, "max_bytes": 10_000_000})
    assert capped.data == encode(src, "jpeg", quality=40).data
    top = _convert(data, {"format": "webp", "max_bytes": 10_000_000})
    assert top.data == encode(src, "webp", quality=95).data


def test_a_budget_too_small_for_quality_1_fails_with_the_smallest_size() -> None:
    data = _noise_png(200)
    smallest = len(encode(decode(data, Limits()), "jpeg", quality=1).data)
    with pytest.raises(InvalidPipeline, match=f"too small.*{smallest} bytes") as err:
        _convert(data, {"format": "jpeg", "max_bytes": 100})
    assert err.value.errors[0]["field"] == "params.max_bytes"
    assert str(smallest) in err.value.errors[0]["message"]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"format": "png", "max_bytes": 5000}, "params", "lossy formats only"),
        ({"format": "webp", "lossless": True, "max_bytes": 5000}, "params", "lossy formats only"),
        ({"format": "jpeg", "max_bytes": 99}, "params.max_bytes", "greater than or equal to 100"),
        ({"format": "jpeg", "max_bytes": "lots"}, "params.max_bytes", "integer"),
    ],
)
def test_invalid_max_bytes_is_refused(params: dict, field: str, message: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "convert", "params": params}])
    (error,) = err.value.errors
    assert error["field"] == field
    assert message in error["message"]
