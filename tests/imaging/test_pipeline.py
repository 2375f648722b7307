from __future__ import annotations

import pytest

from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.errors import DeadlineExceeded, InvalidPipeline
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import DataValue, EncodedValue
from tests import images


def test_a_chain_is_shorthand_for_nodes_ending_in_result() -> None:
    p = parse_pipeline([{"op": "resize", "params": {"width": 10}}, {"op": "convert", "params": {"format": "jpg"}}])
    spec = p.to_json()
    assert [n["id"] for n in spec["nodes"]] == ["step1", "step2"]
    assert spec["nodes"][1]["inputs"] == ["step1"] and spec["nodes"][1]["output"] == "result"
    assert spec["nodes"][1]["params"]["format"] == "jpeg"
    assert parse_pipeline(spec).to_json() == spec


def test_nodes_run_in_dependency_order_whatever_the_declaration_order() -> None:
    p = parse_pipeline(
        {
            "nodes": [
                {"id": "out", "op": "convert", "params": {"format": "png"}, "inputs": ["small"], "output": "o"},
                {"id": "small", "op": "resize", "params": {"width": 20}},
            ]
        }
    )
    assert [n.id for n in p.nodes] == ["small", "out"]


def test_reserved_and_duplicate_ids_are_refused() -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline(
            {
                "nodes": [
                    {"id": "source", "op": "resize", "params": {"width": 1}, "output": "a"},
                    {"id": "x", "op": "resize", "params": {"width": 1}, "output": "b"},
                    {"id": "x", "op": "resize", "params": {"width": 1}, "output": "b2"},
                ]
            }
        )
    messages = [(e["node"], e["message"]) for e in err.value.errors]
    assert ("source", "'source' is reserved for the input") in messages
    assert ("x", "duplicate node id") in messages


def test_duplicate_output_names_and_unknown_fields_are_refused() -> None:
    with pytest.raises(InvalidPipeline, match="not valid") as err:
        parse_pipeline(
            {
                "nodes": [
                    {"id": "a", "op": "resize", "params": {"width": 1}, "output": "o"},
                    {"id": "b", "op": "resize", "params": {"width": 1}, "output": "o"},
                ]
            }
        )
    assert any("used twice" in e["message"] for e in err.value.errors)
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "resize", "params": {"width": 1, "colour": "red"}}])
    assert err.value.errors[0]["field"] == "params.colour"


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"width": 100}, (100, 75)),
        ({"height": 30}, (40, 30)),
        ({"width": 100, "height": 100}, (100, 75)),
        ({"width": 100, "height": 100, "fit": "fill"}, (100, 100)),
        ({"width": 50, "height": 70, "fit": "exact"}, (50, 70)),
        ({"width": 1000}, (400, 300)),  # no upscaling unless asked
        ({"width": 800, "upscale": True}, (800, 600)),
    ],
)
def test_resize_sizes(params: dict, size: tuple[int, int]) -> None:
    p = parse_pipeline([{"op": "resize", "params": params}, {"op": "convert", "params": {"format": "png"}}])
    (out,) = run_pipeline(p, images.jpeg(400, 300), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    assert (out.value.width, out.value.height) == size
    assert images.decode(out.value.data).size == size


def test_fill_crops_the_centre() -> None:
    p = parse_pipeline([{"op": "resize", "params": {"width": 100, "height": 100, "fit": "fill"}}])
    (out,) = run_pipeline(p, images.png(400, 200), RunContext()).outputs
    assert isinstance(out.value, EncodedValue)
    im = images.decode(out.value.data).convert("RGB")
    assert images.near(im.getpixel((10, 10)), (255, 0, 0))  # left half of the centre square is red/blue
    assert images.near(im.getpixel((90, 90)), (255, 255, 255))


def test_lower_quality_gives_smaller_files() -> None:
    data = images.encode(images.noise(200, 200), "PNG")
    for fmt in ("jpeg", "webp", "avif"):
        sizes = []
        for q in (30, 90):
            p = parse_pipeline([{"op": "convert", "params": {"format": fmt, "quality": q}}])
            value = run_pipeline(p, data, RunContext()).outputs[0].value
            assert isinstance(value, EncodedValue)
            sizes.append(len(value.data))
        assert sizes[0] < sizes[1], fmt


def test_alpha_is_flattened_for_jpeg_and_kept_for_png() -> None:
    from PIL import Image

    data = images.encode(Image.new("RGBA", (10, 10), (255, 0, 0, 0)), "PNG")
    jpg = run_pipeline(parse_pipeline([{"op": "convert", "params": {"format": "jpeg"}}]), data, RunContext())
    assert isinstance(jpg.outputs[0].value, EncodedValue)
    assert images.near(images.decode(jpg.outputs[0].value.data).getpixel((5, 5)), (255, 255, 255), 5)
    png = run_pipeline(parse_pipeline([{"op": "convert", "params": {"format": "png"}}]), data, RunContext())
    assert isinstance(png.outputs[0].value, EncodedValue)
    assert images.decode(png.outputs[0].value.data).mode == "RGBA"


def test_metadata_reports_exif_as_a_dict() -> None:
    p = parse_pipeline([{"op": "metadata"}])
    (out,) = run_pipeline(p, images.jpeg_with_exif(orientation=6, make="Acme"), RunContext()).outputs
    assert isinstance(out.value, DataValue)
    assert out.value.data["exif"]["Make"] == "Acme"
    assert out.value.data["exif"]["Orientation"] == 6
    assert (out.value.data["width"], out.value.data["height"]) == (300, 400)


def test_deadline_stops_the_pipeline_between_steps() -> None:
    p = parse_pipeline([{"op": "resize", "params": {"width": 5}}])
    with pytest.raises(DeadlineExceeded):
        run_pipeline(p, images.jpeg(), RunContext(deadline=0.0))


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif", "tiff"])
def test_outputs_are_byte_identical_across_runs(fmt: str) -> None:
    p = parse_pipeline(
        [
            {"op": "resize", "params": {"width": 120}},
            {"op": "sharpen", "params": {"radius": 2}},
            {"op": "convert", "params": {"format": fmt}},
        ]
    )
    data = images.encode(images.noise(300, 200), "PNG")
    first, second = (run_pipeline(p, data, RunContext()).outputs[0].value for _ in range(2))
    assert isinstance(first, EncodedValue) and isinstance(second, EncodedValue)
    assert first.data == second.data
