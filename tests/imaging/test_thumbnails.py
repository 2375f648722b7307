from __future__ import annotations

import pytest

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.decode import decode
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import Limits
from pixmill.imaging.ops.thumbnails import ThumbnailsParams, thumbnails
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import BundleValue, EncodedValue
from tests import images


def _bundle(data: bytes, **params: object) -> BundleValue:
    out = thumbnails([decode(data, Limits())], ThumbnailsParams.model_validate(params), RunContext())
    assert isinstance(out, BundleValue)
    return out


def test_keys_sizes_and_default_webp() -> None:
    bundle = _bundle(images.jpeg(400, 300), sizes=[320, 160, 80])
    assert list(bundle.items) == ["320w", "160w", "80w"]
    for key, size in (("320w", (320, 240)), ("160w", (160, 120)), ("80w", (80, 60))):
        item = bundle.items[key]
        assert (item.format, item.media_type, item.extension) == ("WEBP", "image/webp", "webp")
        assert (item.width, item.height) == size
        im = images.decode(item.data)
        assert im.format == "WEBP" and im.size == size
        w, h = size
        assert images.near(im.convert("RGB").getpixel((w // 4, h // 4)), (255, 0, 0))
        assert images.near(im.convert("RGB").getpixel((3 * w // 4, 3 * h // 4)), (255, 255, 255))


def test_no_upscaling_and_portrait_images_keep_their_aspect() -> None:
    bundle = _bundle(images.jpeg(300, 400), sizes=[150, 1000])
    assert images.decode(bundle.items["150w"].data).size == (150, 200)
    assert images.decode(bundle.items["1000w"].data).size == (300, 400)


@pytest.mark.parametrize(("fmt", "pil_format"), [("jpeg", "JPEG"), ("jpg", "JPEG"), ("png", "PNG"), ("avif", "AVIF")])
def test_formats(fmt: str, pil_format: str) -> None:
    item = _bundle(images.png(400, 300), sizes=[100], format=fmt).items["100w"]
    assert item.format == pil_format
    assert images.decode(item.data).format == pil_format


def test_quality_is_used() -> None:
    data = images.encode(images.noise(300, 300), "PNG")
    low = _bundle(data, sizes=[200], format="jpeg", quality=20).items["200w"]
    high = _bundle(data, sizes=[200], format="jpeg", quality=95).items["200w"]
    assert len(low.data) < len(high.data)


def test_outputs_are_named_after_the_output_and_the_key() -> None:
    p = parse_pipeline(
        {
            "nodes": [
                {"id": "t", "op": "thumbnails", "params": {"sizes": [640, 320], "format": "jpeg"}, "output": "thumbs"},
                {"id": "m", "op": "metadata", "output": "info"},
            ]
        }
    )
    outputs = run_pipeline(p, images.jpeg(2000, 1500), RunContext()).outputs
    by_name = {o.name: o for o in outputs}
    assert set(by_name) == {"thumbs-640w", "thumbs-320w", "info"}
    assert [(by_name[n].node, by_name[n].part) for n in ("thumbs-640w", "thumbs-320w")] == [("t", 0), ("t", 1)]
    for name, size in (("thumbs-640w", (640, 480)), ("thumbs-320w", (320, 240))):
        value = by_name[name].value
        assert isinstance(value, EncodedValue) and value.format == "JPEG"
        assert images.decode(value.data).size == size


def test_shrink_on_load_still_gives_exact_sizes() -> None:
    p = parse_pipeline([{"op": "thumbnails", "params": {"sizes": [250, 99]}}])
    outputs = run_pipeline(p, images.jpeg(2000, 1500), RunContext()).outputs
    assert [(o.name, images.decode(o.value.data).size) for o in outputs if isinstance(o.value, EncodedValue)] == [
        ("result-250w", (250, 188)),
        ("result-99w", (99, 74)),
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "params.sizes", "Field required"),
        ({"sizes": []}, "params.sizes", "at least 1"),
        ({"sizes": list(range(1, 14))}, "params.sizes", "at most 12"),
        ({"sizes": [0]}, "params.sizes.0", "greater than or equal to 1"),
        ({"sizes": [100, 30_001]}, "params.sizes.1", "less than or equal to 30000"),
        ({"sizes": [100, 100]}, "params.sizes", "distinct"),
        ({"sizes": [100], "format": "gif"}, "params.format", "Input should be"),
        ({"sizes": [100], "format": "png", "quality": 50}, "params", "does not apply to png"),
        ({"sizes": [100], "quality": 0}, "params.quality", "greater than or equal to 1"),
    ],
)
def test_invalid_params_are_refused(params: dict, field: str, message: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "thumbnails", "params": params}])
    (error,) = err.value.errors
    assert error["field"] == field
    assert message in error["message"]
