"""One output-size check: every operation that can enlarge an image is refused, before it allocates, past the
pixel and side limits decoding applies, with a 422 naming the node and the size it would make."""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pixmill.app import create_app
from pixmill.canvas.types import Palettes
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import OutputTooLarge
from pixmill.imaging.limits import Limits
from pixmill.imaging.ops.watermark import _tiled
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import EncodedValue
from tests import images
from tests.conftest import SHARED, make_settings, submit, upload, wait_for

DMC = SHARED / "data" / "palettes" / "dmc.csv"


def _run(data: bytes, steps: list[dict[str, Any]], limits: Limits | None = None) -> Image.Image:
    (out,) = run_pipeline(parse_pipeline(steps), data, RunContext(limits=limits or Limits())).outputs
    assert isinstance(out.value, EncodedValue)
    return images.decode(out.value.data)


@pytest.mark.parametrize(
    ("size", "params", "made"),
    [
        # the cases: 10x10 to 10001x10001 completed (+380 MB); 1x1000 to width 30000 asked for 9e11 pixels
        ((10, 10), {"width": 10001, "height": 10001, "fit": "exact", "upscale": True}, "10001x10001"),
        ((1, 1000), {"width": 30000, "upscale": True}, "30000x30000000"),
        ((10, 10), {"width": 12000, "height": 9000, "fit": "fill", "upscale": True}, "12000x9000"),
    ],
)
def test_resize_with_upscale_is_refused_past_the_limits(
    size: tuple[int, int], params: dict[str, Any], made: str
) -> None:
    steps = [{"id": "big", "op": "resize", "params": params}]
    with pytest.raises(OutputTooLarge, match=rf"node 'big' \(resize\): the result would be {made} = \d+ pixels") as err:
        run_pipeline(parse_pipeline(steps), images.png(*size), RunContext())
    assert err.value.errors == [{"node": "big", "field": "params.upscale", "message": err.value.errors[0]["message"]}]


def test_resize_within_the_limits_still_enlarges() -> None:
    limits = Limits(max_pixels=100 * 100, max_dimension=100)
    assert _run(images.png(10, 10), [{"op": "resize", "params": {"width": 100, "upscale": True}}], limits).size == (
        100,
        100,
    )
    with pytest.raises(OutputTooLarge, match="101x101"):
        _run(images.png(10, 10), [{"op": "resize", "params": {"width": 101, "upscale": True}}], limits)


def test_every_frame_of_an_animation_counts_against_the_pixel_limit() -> None:
    frames = [Image.new("RGB", (10, 10), (i * 20, 0, 0)) for i in range(5)]
    gif = images.encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    steps = [{"op": "resize", "params": {"width": 40, "upscale": True}}]
    assert _run(gif, steps, Limits(max_pixels=5 * 40 * 40)).size == (40, 40)
    with pytest.raises(OutputTooLarge, match=r"node 'step1' \(resize\): the result would be 5 frames of 40x40"):
        _run(gif, steps, Limits(max_pixels=5 * 40 * 40 - 1))


@pytest.mark.parametrize(
    ("steps", "field"),
    [
        ([{"op": "pad", "params": {"margin": 60}}], "params.margin"),
        ([{"op": "rotate", "params": {"angle": 45}}], "params.angle"),
        ([{"op": "upscale", "params": {"scale": 2}}], "params.scale"),
    ],
)
def test_every_enlarging_operation_names_its_node_and_the_size(steps: list[dict[str, Any]], field: str) -> None:
    limits = Limits(max_dimension=140)  # rotated by 45, 100 x 100 needs 142 x 142
    with pytest.raises(OutputTooLarge, match=r"node 'step1' \(\w+\): the result would be \d+x\d+ = ") as err:
        _run(images.png(100, 100), steps, limits)
    assert (err.value.errors[0]["node"], err.value.errors[0]["field"]) == ("step1", field)


def test_a_tiled_watermark_with_a_wide_gap_allocates_nothing_larger_than_the_image() -> None:
    # the repeat of an 8 px overlay 10000 px apart used to be built whole (10008 x 10008 x 4 bytes = 400 MB)
    overlay = Image.new("RGBA", (8, 8), (255, 255, 255, 255))
    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        layer = _tiled(overlay, (300, 200), (5, 7), 10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * 300 * 200 * 4
    assert layer.size == (300, 200) and layer.getbbox() == (5, 7, 13, 15)  # the one copy that falls inside


def test_a_job_fails_and_a_render_url_answers_422_naming_the_node(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path, render_allow_unsigned=True))) as client:
        (asset,) = upload(client, ("p.png", images.png(10, 10)), content_type="image/png")
        params = {"width": 10001, "height": 10001, "fit": "exact", "upscale": True}
        job = submit(client, [asset["id"]], [{"id": "huge", "op": "resize", "params": params}])
        done = wait_for(client, job["id"])
        assert done["status"] == "FAILED"
        assert done["error"].startswith("node 'huge' (resize): the result would be 10001x10001 = 100020001 pixels")
        r = client.get(f"/render/unsafe/resize:width=10001,height=10001,fit=exact,upscale=true/png/{asset['id']}")
        assert r.status_code == 422
        assert "the result would be 10001x10001" in r.json()["detail"]
        assert r.json()["errors"][0]["node"] == "step1"


def test_a_canvas_preview_over_the_limits_is_refused_before_it_is_drawn() -> None:
    from pixmill.canvas.palette_csv import parse_palette_csv

    palette = parse_palette_csv(DMC.read_text(encoding="utf-8-sig"), name="dmc")
    steps = [{"id": "pv", "op": "canvas_preview", "params": {"cols": 20, "rows": 16, "preview_width": 200}}]
    pipeline, data = parse_pipeline(steps), images.png(40, 30)
    (out,) = run_pipeline(pipeline, data, RunContext(resources=(Palettes({"dmc": palette}),))).outputs
    assert isinstance(out.value, EncodedValue) and (out.value.width, out.value.height) == (200, 160)
    small = RunContext(limits=Limits(max_pixels=200 * 160 - 1), resources=(Palettes({"dmc": palette}),))
    with pytest.raises(OutputTooLarge, match=r"node 'pv' \(canvas_preview\): the result would be 200x160") as err:
        run_pipeline(pipeline, data, small)
    assert err.value.errors[0]["field"] == "params.preview_width"
