"""The detectors themselves: YOLOX's decode and NMS on hand-made arrays, then both models on the photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pixmill.ml import faces as faces_module
from pixmill.ml.boxes import Detection, union
from pixmill.ml.faces import detect_faces, detection_size
from pixmill.ml.objects import (
    COCO_CLASSES,
    INPUT_SIZE,
    batched_nms,
    corners,
    decode,
    detect_objects,
    grid,
    iou,
    letterbox,
    nms,
)
from tests.ml.photos import MODELS, PHOTOS, landscape, photo


@pytest.fixture
def models_dir() -> Path:
    return MODELS


@pytest.fixture
def yunet(models_dir: Path) -> Path:
    return models_dir / "yunet" / "yunet_s_640_640.onnx"


@pytest.fixture
def yolox(models_dir: Path) -> Path:
    return models_dir / "yolox" / "yolox_nano.onnx"


def test_the_grid_runs_stride_by_stride_then_row_by_row() -> None:
    cells, steps = grid(64, (8, 16, 32))
    assert len(cells) == 64 + 16 + 4 == len(steps)
    assert cells[:3].tolist() == [[0, 0], [1, 0], [2, 0]]  # (column, row)
    assert cells[8].tolist() == [0, 1]
    assert cells[63].tolist() == [7, 7] and steps[63, 0] == 8
    assert cells[64].tolist() == [0, 0] and steps[64, 0] == 16
    assert cells[-1].tolist() == [1, 1] and steps[-1, 0] == 32
    assert len(grid()[0]) == 3549  # the model's 416 x 416 input


def test_decode_puts_centres_at_cell_plus_offset_times_stride_and_sizes_at_exp_times_stride() -> None:
    raw = np.zeros((64 + 16 + 4, 7), dtype=np.float32)
    raw[9, :4] = [0.5, 0.25, 0.0, np.log(2.0)]  # stride 8, column 1, row 1
    raw[64 + 5, :4] = [0.0, 0.0, np.log(3.0), 0.0]  # stride 16, column 1, row 1
    raw[-1, :4] = [-0.5, 1.0, 0.0, 0.0]  # stride 32, column 1, row 1
    raw[:, 4:] = 0.7  # objectness and class scores pass through untouched
    out = decode(raw, 64, (8, 16, 32))
    assert out[9, :4] == pytest.approx([12.0, 10.0, 8.0, 16.0])
    assert out[64 + 5, :4] == pytest.approx([16.0, 16.0, 48.0, 16.0])
    assert out[-1, :4] == pytest.approx([16.0, 64.0, 32.0, 32.0])
    assert out[0, :4] == pytest.approx([0.0, 0.0, 8.0, 8.0])
    assert np.allclose(out[:, 4:], 0.7)
    assert raw[9, 0] == 0.5  # the input is left as it was
    with pytest.raises(ValueError, match="expected 84 predictions"):
        decode(raw[:-1], 64, (8, 16, 32))


def test_corners_and_iou() -> None:
    boxes = corners(np.array([[10.0, 10.0, 4.0, 4.0], [12.0, 10.0, 4.0, 4.0], [100.0, 100.0, 2.0, 2.0]]))
    assert boxes.tolist() == [[8, 8, 12, 12], [10, 8, 14, 12], [99, 99, 101, 101]]
    assert iou(boxes[0], boxes).tolist() == pytest.approx([1.0, 8 / 24, 0.0])
    degenerate = np.array([[5.0, 5.0, 5.0, 5.0]])
    assert iou(degenerate[0], degenerate).tolist() == [0.0]


def test_nms_keeps_the_best_of_overlapping_boxes_and_every_separate_one() -> None:
    boxes = np.array(
        [
            [0, 0, 10, 10],  # 0.6: overlaps box 1 heavily
            [1, 0, 11, 10],  # 0.9: the best
            [0, 0, 10, 20],  # 0.8: IoU 0.45 with box 1 (90 / 200)
            [50, 50, 60, 60],  # 0.3: alone
        ],
        dtype=np.float64,
    )
    scores = np.array([0.6, 0.9, 0.8, 0.3])
    assert nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert nms(boxes, scores, 0.4).tolist() == [1, 3]
    assert nms(boxes, scores, 0.95).tolist() == [1, 2, 0, 3]
    assert nms(boxes[:0], scores[:0], 0.5).tolist() == []


def test_nms_breaks_ties_by_index() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], dtype=np.float64)
    assert nms(boxes, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0]


def test_batched_nms_never_lets_one_class_suppress_another() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10], [30, 30, 40, 40]], dtype=np.float64)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    classes = np.array([0, 1, 0, 1])
    assert batched_nms(boxes, scores, classes, 0.5).tolist() == [3, 0, 1]
    assert batched_nms(boxes[:0], scores[:0], classes[:0], 0.5).tolist() == []


def test_letterbox_puts_the_image_top_left_on_grey_114_in_bgr() -> None:
    rgb = np.zeros((100, 200, 3), dtype=np.uint8)
    rgb[..., 0] = 200  # red
    tensor, ratio = letterbox(rgb)
    assert tensor.shape == (1, 3, INPUT_SIZE, INPUT_SIZE) and tensor.dtype == np.float32
    assert ratio == pytest.approx(INPUT_SIZE / 200)
    assert tensor[0, :, 0, 0].tolist() == [0.0, 0.0, 200.0]  # B, G, R
    assert tensor[0, :, 207, 415].tolist() == [0.0, 0.0, 200.0]  # last row of the image (416 / 2 - 1)
    assert tensor[0, :, 208, 0].tolist() == [114.0, 114.0, 114.0]
    assert tensor[0, :, 415, 415].tolist() == [114.0, 114.0, 114.0]


def test_union_and_pixel_boxes() -> None:
    a = Detection(1.5, 2.2, 3.0, 4.0, 0.9, "face")
    b = Detection(10.0, 0.0, 5.0, 5.0, 0.8, "face")
    assert a.pixel_box() == (1, 2, 4, 5)
    assert union([a, b]) == (1, 0, 15, 7)
    assert union([]) is None


@pytest.mark.parametrize("name", PHOTOS)
def test_a_face_is_found_in_every_photo(name: str, yunet: Path) -> None:
    im = photo(name)
    found = detect_faces(np.asarray(im), yunet)
    assert found, name
    face = found[0]
    assert face.label == "face" and 0.5 <= face.score <= 1
    assert 0 <= face.x < face.x + face.width <= im.width
    assert 0 <= face.y < face.y + face.height <= im.height
    assert face.width * face.height > 0.05 * im.width * im.height  # portraits: the face is a good part of it
    assert face.landmarks is not None and len(face.landmarks) == 5
    assert all(face.x <= x <= face.x + face.width and face.y <= y <= face.y + face.height for x, y in face.landmarks)
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


def test_large_images_are_detected_smaller_and_the_boxes_mapped_back(yunet: Path) -> None:
    small = photo(PHOTOS[0])
    big = small.resize((small.width * 5, small.height * 5), Image.Resampling.BICUBIC)
    assert max(detection_size(*big.size)) == 640
    (face,) = detect_faces(np.asarray(small), yunet)
    (big_face,) = detect_faces(np.asarray(big), yunet)
    for a, b in ((face.x, big_face.x), (face.y, big_face.y), (face.width, big_face.width)):
        assert b == pytest.approx(5 * a, abs=0.08 * 5 * face.width)


def test_detectors_are_kept_per_model_and_size(yunet: Path) -> None:
    rgb = np.asarray(photo(PHOTOS[1], 120))
    first = detect_faces(rgb, yunet)
    key = (str(yunet), rgb.shape[1], rgb.shape[0])
    detector = faces_module._detectors[key]
    assert detect_faces(rgb, yunet) == first
    assert faces_module._detectors[key] is detector


def test_a_flat_image_has_no_faces_and_no_objects(yunet: Path, yolox: Path) -> None:
    flat = np.full((120, 160, 3), 128, dtype=np.uint8)
    assert detect_faces(flat, yunet) == []
    assert detect_objects(flat, yolox) == []


@pytest.mark.parametrize("name", ["face_01.png", "face_07.png", "face_13.png"])
def test_a_person_is_found_where_the_photo_was_placed(name: str, yolox: Path) -> None:
    canvas, x = landscape(name, side=200, at="right")
    found = detect_objects(np.asarray(canvas), yolox, min_score=0.4)
    people = [d for d in found if d.label == "person"]
    assert people, found
    best = people[0]
    assert best.x >= x - 10  # on the photo, not the grey
    assert best.x + best.width <= canvas.width and best.width * best.height > 0.4 * 200 * 200
    assert all(d.label in COCO_CLASSES for d in found)


def test_classes_keep_only_those_labels(yolox: Path) -> None:
    rgb = np.asarray(photo("face_07.png", 200))
    assert [d.label for d in detect_objects(rgb, yolox, 0.4, classes=["person"])] == ["person"]
    assert detect_objects(rgb, yolox, 0.4, classes=["giraffe"]) == []


def test_object_detection_is_deterministic(yolox: Path) -> None:
    rgb = np.asarray(photo("face_04.png", 200))
    assert detect_objects(rgb, yolox, 0.2) == detect_objects(rgb, yolox, 0.2)
