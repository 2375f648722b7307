"""detect, annotate, blur_faces, and crop / resize with gravity 'faces' or 'objects', run on the photos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from pixmill.imaging.catalogue import RunContext, get_operation
from pixmill.imaging.errors import InvalidPipeline, OperationUnavailable
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.values import DataValue, EncodedValue, ImageValue, Value
from pixmill.ml.model_files import MLSetup
from tests import images
from tests.ml.photos import MODELS, PHOTOS, landscape, photo


@pytest.fixture
def models_dir() -> Path:
    return MODELS


@pytest.fixture
def ctx(models_dir: Path) -> RunContext:
    return RunContext(resources=(MLSetup(models_dir),))


def run_op(name: str, im: Image.Image, ctx: RunContext, **params: Any) -> Value:
    """Run one operation directly on `im` (no encoding: quick, pixels exact)."""
    op = get_operation(name)
    assert op is not None
    node = parse_pipeline([{"op": name, "params": params}]).nodes[0]
    return op.run([ImageValue(im, "PNG")], node.params, ctx)


def run_image(name: str, im: Image.Image, ctx: RunContext, **params: Any) -> Image.Image:
    out = run_op(name, im, ctx, **params)
    assert isinstance(out, ImageValue)
    return out.image


def face_boxes(im: Image.Image, ctx: RunContext) -> list[list[int]]:
    out = run_op("detect", im, ctx, kind="faces")
    assert isinstance(out, DataValue)
    return [d["box"] for d in out.data["detections"]]


def offset_of(part: Image.Image, whole: Image.Image) -> tuple[int, int]:
    """Where `part`, cut out of `whole`, was cut from."""
    a, b = np.asarray(whole, dtype=np.int32), np.asarray(part, dtype=np.int32)
    ph, pw = b.shape[:2]
    for y in range(a.shape[0] - ph + 1):
        for x in range(a.shape[1] - pw + 1):
            if a[y, x, 0] == b[0, 0, 0] and np.array_equal(a[y : y + ph, x : x + pw], b):
                return x, y
    raise AssertionError("not a crop of the image")


def inside(box: list[int], window: tuple[int, int, int, int]) -> bool:
    x, y, w, h = box
    return window[0] <= x and window[1] <= y and x + w <= window[2] and y + h <= window[3]


# detect


def test_detect_through_a_pipeline_reports_faces_as_json(models_dir: Path) -> None:
    im = photo("face_05.png", 200)
    p = parse_pipeline([{"op": "detect", "params": {"kind": "faces"}}])
    (out,) = run_pipeline(p, images.encode(im, "PNG"), RunContext(resources=(MLSetup(models_dir),))).outputs
    assert isinstance(out.value, DataValue)
    data = out.value.data
    assert (data["width"], data["height"]) == im.size
    (face,) = data["detections"]
    assert face["label"] == "face" and 0.5 <= face["score"] <= 1
    x, y, w, h = face["box"]
    assert all(isinstance(v, int) for v in face["box"])
    assert 0 <= x < x + w <= im.width and 0 <= y < y + h <= im.height


def test_detect_all_finds_the_face_and_the_person(ctx: RunContext) -> None:
    out = run_op("detect", photo("face_07.png", 200), ctx, kind="all", min_score=0.4)
    assert isinstance(out, DataValue)
    labels = [d["label"] for d in out.data["detections"]]
    assert "face" in labels and "person" in labels
    scores = [d["score"] for d in out.data["detections"]]
    assert scores == sorted(scores, reverse=True)


def test_detect_classes_and_min_score_filter(ctx: RunContext) -> None:
    im = photo("face_07.png", 200)
    people = run_op("detect", im, ctx, kind="objects", classes=["person"], min_score=0.4)
    assert isinstance(people, DataValue) and {d["label"] for d in people.data["detections"]} == {"person"}
    only_faces = run_op("detect", im, ctx, kind="all", classes=["face"])
    assert isinstance(only_faces, DataValue) and {d["label"] for d in only_faces.data["detections"]} == {"face"}
    nothing = run_op("detect", im, ctx, kind="all", min_score=1.0)
    assert isinstance(nothing, DataValue) and nothing.data["detections"] == []


@pytest.mark.parametrize(
    ("params", "field", "fragment"),
    [
        ({"kind": "cars"}, "params.kind", "faces"),
        ({"min_score": 1.5}, "params.min_score", "less than"),
        ({"classes": ["unicorn"]}, "params.classes", "unknown class 'unicorn'"),
        ({"classes": []}, "params.classes", "at least 1"),
        ({"kind": "faces", "classes": ["person"]}, "params", "only class is 'face'"),
        ({"kind": "objects", "classes": ["face"]}, "params", "not 'objects'"),
    ],
)
def test_bad_detect_params_are_refused(params: dict, field: str, fragment: str) -> None:
    with pytest.raises(InvalidPipeline) as err:
        parse_pipeline([{"op": "detect", "params": params}])
    assert err.value.errors[0]["field"] == field
    assert fragment in err.value.errors[0]["message"]


# annotate


def test_annotate_through_a_pipeline_draws_boxes_deterministically(models_dir: Path) -> None:
    im = photo("face_07.png", 200)
    p = parse_pipeline([{"op": "annotate", "params": {"kind": "all", "min_score": 0.4}}])
    data = images.encode(im, "PNG")
    (first,) = run_pipeline(p, data, RunContext(resources=(MLSetup(models_dir),))).outputs
    (second,) = run_pipeline(p, data, RunContext(resources=(MLSetup(models_dir),))).outputs
    assert isinstance(first.value, EncodedValue) and isinstance(second.value, EncodedValue)
    assert first.value.data == second.value.data
    out = images.decode(first.value.data).convert("RGB")
    assert out.size == im.size
    x, y, w, h = face_boxes(im, RunContext(resources=(MLSetup(models_dir),)))[0]
    assert out.getpixel((x + w // 2, y + h - 1)) == (255, 56, 56)  # the face box's bottom edge, in face colour
    assert out.getpixel((x + w // 2, y + h // 2)) == im.getpixel((x + w // 2, y + h // 2))  # inside: untouched


def test_annotate_without_detections_leaves_the_pixels_and_keeps_alpha(ctx: RunContext) -> None:
    flat = Image.new("RGBA", (120, 90), (128, 128, 128, 100))
    out = run_image("annotate", flat, ctx)
    assert out.mode == "RGBA" and out.tobytes() == flat.tobytes()
    grey = run_image("annotate", photo("face_09.png", mode="L"), ctx, kind="faces")
    assert grey.mode == "RGB"


# blur_faces


@pytest.mark.parametrize("method", ["pixelate", "blur"])
@pytest.mark.parametrize("name", ["face_03.png", "face_10.png"])
def test_blur_faces_changes_the_faces_and_nothing_far_outside(name: str, method: str, ctx: RunContext) -> None:
    im = photo(name, 200)
    before = np.asarray(im, dtype=np.int32)
    after = np.asarray(run_image("blur_faces", im, ctx, method=method, padding=0.1), dtype=np.int32)
    changed = np.abs(after - before).max(axis=2) > 0
    boxes = face_boxes(im, ctx)
    assert boxes
    allowed = np.zeros(changed.shape, dtype=bool)
    for x, y, w, h in boxes:
        face = np.abs(after - before)[y : y + h, x : x + w]
        assert face.mean() > 8, face.mean()  # the face is really hidden, not nudged
        assert changed[y : y + h, x : x + w].mean() > 0.8
        # padding 0.1 of the box, and a pixel for rounding
        dx, dy = int(0.1 * w) + 2, int(0.1 * h) + 2
        allowed[max(0, y - dy) : y + h + dy, max(0, x - dx) : x + w + dx] = True
    assert not changed[~allowed].any()


def test_blur_faces_keeps_alpha_and_hides_the_colour(ctx: RunContext) -> None:
    im = photo("face_06.png", 200, mode="RGBA")
    alpha = Image.linear_gradient("L").resize(im.size).point(lambda v: 80 + v // 2)
    im.putalpha(alpha)
    out = run_image("blur_faces", im, ctx, strength=0.2)
    assert out.mode == "RGBA"
    assert out.getchannel("A").tobytes() == im.getchannel("A").tobytes()
    assert out.convert("RGB").tobytes() != im.convert("RGB").tobytes()


def test_an_image_without_faces_comes_back_unchanged(ctx: RunContext) -> None:
    src = ImageValue(images.quadrants(160, 120), "PNG")
    op = get_operation("blur_faces")
    assert op is not None
    params = parse_pipeline([{"op": "blur_faces"}]).nodes[0].params
    assert op.run([src], params, ctx) is src


# crop and resize with gravity faces / objects


@pytest.mark.parametrize("name", PHOTOS)
def test_a_square_faces_crop_of_a_landscape_keeps_every_face(name: str, ctx: RunContext) -> None:
    src, _ = landscape(name, side=120, width_factor=3, at="right")
    boxes = face_boxes(src, ctx)
    assert boxes
    out = run_image("crop", src, ctx, aspect="1:1", gravity="faces")
    assert out.size == (src.height, src.height)
    left, top = offset_of(out, src)
    window = (left, top, left + out.width, top + out.height)
    assert all(inside(box, window) for box in boxes), (boxes, window)
    # Mapped into the crop, the face is where the detector finds it there too.
    (again,) = face_boxes(out, ctx)[:1]
    assert abs(again[0] - (boxes[0][0] - left)) <= max(3, boxes[0][2] // 10)


@pytest.mark.parametrize("name", ["face_01.png", "face_08.png", "face_12.png"])
def test_a_small_fixed_size_faces_crop_keeps_the_face(name: str, ctx: RunContext) -> None:
    src, _ = landscape(name, side=110, width_factor=4, at="left")
    big = Image.new("RGB", (src.width, src.height * 3), (128, 128, 128))
    big.paste(src, (0, big.height - src.height))  # the photo in the bottom-left corner
    (box,) = face_boxes(big, ctx)[:1]
    assert box[2] <= 96 and box[3] <= 96
    out = run_image("crop", big, ctx, width=96, height=96, gravity="faces")
    assert out.size == (96, 96)
    left, top = offset_of(out, big)
    assert inside(box, (left, top, left + 96, top + 96))
    centre = run_image("crop", big, ctx, width=96, height=96)
    assert centre.tobytes() != out.tobytes()


def test_gravity_falls_back_to_the_centre_without_detections(ctx: RunContext) -> None:
    src = images.quadrants(300, 200)
    for gravity in ("faces", "objects"):
        assert (
            run_image("crop", src, ctx, aspect="1:1", gravity=gravity).tobytes()
            == run_image("crop", src, ctx, aspect="1:1").tobytes()
        )
        assert (
            run_image("resize", src, ctx, width=50, height=50, fit="fill", gravity=gravity).tobytes()
            == run_image("resize", src, ctx, width=50, height=50, fit="fill").tobytes()
        )


def test_an_objects_crop_keeps_the_person(ctx: RunContext) -> None:
    src, x = landscape("face_13.png", side=150, width_factor=3, at="left")
    out = run_image("crop", src, ctx, aspect="1:1", gravity="objects")
    assert offset_of(out, src)[0] <= x + 10


def test_a_faces_fill_resize_keeps_the_face(ctx: RunContext) -> None:
    src, _ = landscape("face_11.png", side=150, width_factor=3, at="right")
    out = run_image("resize", src, ctx, width=60, height=60, fit="fill", gravity="faces")
    assert out.size == (60, 60)
    assert face_boxes(out, ctx)  # the face made it into the square
    centre = run_image("resize", src, ctx, width=60, height=60, fit="fill")
    assert not face_boxes(centre, ctx)  # the centre of the canvas is grey


def test_a_faces_crop_through_a_pipeline(models_dir: Path) -> None:
    src, _ = landscape("face_14.png", side=100, at="right")
    p = parse_pipeline(
        [
            {"op": "crop", "params": {"aspect": "1:1", "gravity": "faces"}},
            {"op": "convert", "params": {"format": "png"}},
        ]
    )
    (out,) = run_pipeline(p, images.encode(src, "PNG"), RunContext(resources=(MLSetup(models_dir),))).outputs
    assert isinstance(out.value, EncodedValue)
    cropped = images.decode(out.value.data).convert("RGB")
    assert offset_of(cropped, src)[0] == src.width - cropped.width  # the right end, where the photo is


# queues and missing models


@pytest.mark.parametrize(
    ("steps", "queues"),
    [
        ([{"op": "crop", "params": {"aspect": "1:1", "gravity": "faces"}}], {"ml"}),
        ([{"op": "crop", "params": {"aspect": "1:1", "gravity": "objects"}}], {"ml"}),
        ([{"op": "crop", "params": {"aspect": "1:1"}}], {"standard"}),
        ([{"op": "crop", "params": {"aspect": "1:1", "gravity": "smart"}}], {"standard"}),
        ([{"op": "resize", "params": {"width": 9, "height": 9, "fit": "fill", "gravity": "faces"}}], {"ml"}),
        ([{"op": "resize", "params": {"width": 9, "height": 9, "fit": "fill", "gravity": "west"}}], {"standard"}),
        ([{"op": "detect"}], {"ml"}),
        ([{"op": "annotate"}], {"ml"}),
        ([{"op": "blur_faces"}, {"op": "resize", "params": {"width": 9}}], {"ml", "standard"}),
    ],
)
def test_pipeline_queues(steps: list[dict[str, Any]], queues: set[str]) -> None:
    assert parse_pipeline(steps).queues == queues


@pytest.mark.parametrize(
    ("op", "params", "missing"),
    [
        ("detect", {"kind": "faces"}, "yunet/yunet_s_640_640.onnx"),
        ("detect", {"kind": "objects"}, "yolox/yolox_nano.onnx"),
        ("detect", {"kind": "all"}, "yunet/yunet_s_640_640.onnx"),
        ("annotate", {}, "yunet/yunet_s_640_640.onnx"),
        ("blur_faces", {}, "yunet/yunet_s_640_640.onnx"),
        ("crop", {"aspect": "1:1", "gravity": "faces"}, "yunet/yunet_s_640_640.onnx"),
        ("crop", {"aspect": "1:1", "gravity": "objects"}, "yolox/yolox_nano.onnx"),
        ("resize", {"width": 9, "height": 9, "fit": "fill", "gravity": "faces"}, "yunet/yunet_s_640_640.onnx"),
    ],
)
def test_a_missing_model_is_named(op: str, params: dict[str, Any], missing: str, tmp_path: Path) -> None:
    convert = [] if op == "detect" else [{"op": "convert", "params": {"format": "png"}}]
    p = parse_pipeline([{"op": op, "params": params}, *convert])
    with pytest.raises(OperationUnavailable, match=missing):
        run_pipeline(p, images.png(60, 40), RunContext(resources=(MLSetup(tmp_path),)))


def test_without_a_models_directory_the_message_says_how_to_set_it() -> None:
    p = parse_pipeline([{"op": "detect"}])
    with pytest.raises(OperationUnavailable, match="PIXMILL_MODELS_DIR"):
        run_pipeline(p, images.png(60, 40), RunContext())
