"""Objects with YOLOX-nano (COCO's 80 classes) through onnxruntime: RGB array in, detections out.

The model takes a 1 x 3 x 416 x 416 BGR image, 0-255, letterboxed into the top-left corner on grey 114, and
gives 3549 raw predictions of 85 numbers: x and y offsets within a grid cell, log width and log height (in
cells), objectness and 80 class scores (those two already sigmoid-activated). The grid/stride decode and the
per-class non-maximum suppression are done here, in numpy.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixmill.ml import onnx
from pixmill.ml.boxes import Detection, clip_box, sort_key
from pixmill.ml.faces import import_cv2

INPUT_SIZE = 416
STRIDES = (8, 16, 32)
FILL = 114
IOU_THRESHOLD = 0.45

COCO_CLASSES = (
    "person",
    "bicycle",
    "car",
    "motorcycle",
    "airplane",
    "bus",
    "train",
    "truck",
    "boat",
    "traffic light",
    "fire hydrant",
    "stop sign",
    "parking meter",
    "bench",
    "bird",
    "cat",
    "dog",
    "horse",
    "sheep",
    "cow",
    "elephant",
    "bear",
    "zebra",
    "giraffe",
    "backpack",
    "umbrella",
    "handbag",
    "tie",
    "suitcase",
    "frisbee",
    "skis",
    "snowboard",
    "sports ball",
    "kite",
    "baseball bat",
    "baseball glove",
    "skateboard",
    "surfboard",
    "tennis racket",
    "bottle",
    "wine glass",
    "cup",
    "fork",
    "knife",
    "spoon",
    "bowl",
    "banana",
    "apple",
    "sandwich",
    "orange",
    "broccoli",
    "carrot",
    "hot dog",
    "pizza",
    "donut",
    "cake",
    "chair",
    "couch",
    "potted plant",
    "bed",
    "dining table",
    "toilet",
    "tv",
    "laptop",
    "mouse",
    "remote",
    "keyboard",
    "cell phone",
    "microwave",
    "oven",
    "toaster",
    "sink",
    "refrigerator",
    "book",
    "clock",
    "vase",
    "scissors",
    "teddy bear",
    "hair drier",
    "toothbrush",
)


def session(model: Path, device: str = "cpu") -> Any:
    """The process's one inference session for the YOLOX model (see pixmill.ml.onnx.session)."""
    return onnx.session(model, device, purpose="object detection")


def letterbox(rgb: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, float]:
    """The model's input (1 x 3 x size x size float32 BGR, 0-255, image top-left on FILL) and the scale used."""
    cv2 = import_cv2()
    height, width = rgb.shape[:2]
    ratio = min(size / width, size / height)
    new_w, new_h = max(1, min(size, round(width * ratio))), max(1, min(size, round(height * ratio)))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    resized = (
        cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR) if (new_w, new_h) != (width, height) else bgr
    )
    canvas = np.full((size, size, 3), FILL, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    return canvas.transpose(2, 0, 1)[None].astype(np.float32), ratio


def grid(size: int = INPUT_SIZE, strides: Sequence[int] = STRIDES) -> tuple[np.ndarray, np.ndarray]:
    """Every prediction's cell (column, row) and stride, in the model's order: stride by stride, row by row."""
    cells, steps = [], []
    for stride in strides:
        n = size // stride
        rows, cols = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        cells.append(np.stack([cols.ravel(), rows.ravel()], axis=1))
        steps.append(np.full((n * n, 1), stride))
    return np.concatenate(cells).astype(np.float64), np.concatenate(steps).astype(np.float64)


def decode(raw: np.ndarray, size: int = INPUT_SIZE, strides: Sequence[int] = STRIDES) -> np.ndarray:
    """Raw predictions (N x (4 + 1 + classes)) with the first four turned into centre x, centre y, width and
    height in input pixels: centres = (offset + cell) * stride, sizes = exp(log size) * stride."""
    cells, steps = grid(size, strides)
    if raw.shape[0] != len(cells):
        raise ValueError(f"expected {len(cells)} predictions for a {size} x {size} input, got {raw.shape[0]}")
    out = raw.astype(np.float64, copy=True)
    out[:, :2] = (out[:, :2] + cells) * steps
    out[:, 2:4] = np.exp(out[:, 2:4]) * steps
    return out


def corners(xywh: np.ndarray) -> np.ndarray:
    """Centre x, centre y, width, height -> left, top, right, bottom."""
    half = xywh[:, 2:4] / 2
    return np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], axis=1)


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of one (left, top, right, bottom) box with each of `others`."""
    w = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes kept, best first (equal scores: lower index first).
    A box goes when it overlaps a better kept one by more than `iou_threshold`."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        order = rest[iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Non-maximum suppression within each class (boxes of different classes never suppress each other):
    indices kept, best first."""
    kept = [
        np.flatnonzero(classes == c)[nms(boxes[classes == c], scores[classes == c], iou_threshold)]
        for c in np.unique(classes)
    ]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    keep = np.concatenate(kept)
    return keep[np.argsort(-scores[keep], kind="stable")]


def detect_objects(
    rgb: np.ndarray,
    model: Path,
    min_score: float = 0.5,
    classes: Collection[str] | None = None,
    iou_threshold: float = IOU_THRESHOLD,
    device: str = "cpu",
) -> list[Detection]:
    """COCO objects in an RGB uint8 array (height x width x 3) scoring at least `min_score` (objectness x class
    score), only `classes` when given, best first."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 array of shape (height, width, 3), not {rgb.dtype} {rgb.shape}")
    height, width = rgb.shape[:2]
    tensor, ratio = letterbox(rgb)
    sess = session(model, device)
    (raw,) = sess.run(None, {sess.get_inputs()[0].name: tensor})
    pred = decode(raw[0])
    class_scores = pred[:, 5:] * pred[:, 4:5]
    if classes is not None:
        wanted = np.isin(np.asarray(COCO_CLASSES), list(classes))
        class_scores = np.where(wanted[None, :], class_scores, 0.0)
    label = class_scores.argmax(axis=1)
    score = class_scores[np.arange(len(label)), label]
    chosen = np.flatnonzero(score >= min_score)
    boxes = corners(pred[chosen, :4]) / ratio
    keep = batched_nms(boxes, score[chosen], label[chosen], iou_threshold)
    found = []
    for i in keep:
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        box = clip_box(x0, y0, x1, y1, width, height)
        if box is not None:
            found.append(Detection(*box, score=float(score[chosen[i]]), label=COCO_CLASSES[int(label[chosen[i]])]))
    return sorted(found, key=sort_key)
