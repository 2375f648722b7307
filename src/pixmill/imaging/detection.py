"""Detection for operations: the shared parameters, and running the face and object models on a Pillow image.

Boxes are in pixels of the image as it reaches the node. The models are found in the run's models directory
(checked against the manifest); a missing one raises OperationUnavailable naming the file.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from pydantic import Field, field_validator, model_validator

from pixmill.imaging.catalogue import Params, RunContext
from pixmill.imaging.encode import flatten
from pixmill.imaging.inference import uses_ml
from pixmill.ml.boxes import Detection, sort_key, union
from pixmill.ml.faces import detect_faces
from pixmill.ml.model_files import MLSetup, require
from pixmill.ml.objects import COCO_CLASSES, detect_objects

DetectKind = Literal["faces", "objects", "all"]
# Every label a detection can carry: "face" from the face model, COCO's 80 names from the object model.
LABELS = ("face", *COCO_CLASSES)
# Gravity values that place a window on what the models find.
DETECT_GRAVITY = ("faces", "objects")
# The least score a detection needs to place a crop or a fill.
GRAVITY_MIN_SCORE = 0.5


class DetectionParams(Params):
    """What to look for: shared by detect and annotate."""

    kind: DetectKind = Field(
        default="all", description="What to look for: 'faces', 'objects' (COCO's 80 classes) or 'all' (both)."
    )
    min_score: float = Field(default=0.5, ge=0.0, le=1.0, description="Keep detections scoring at least this (0-1).")
    classes: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=len(LABELS),
        description="Keep only these labels: COCO class names such as 'person' or 'dog', and 'face'.",
    )

    @field_validator("classes")
    @classmethod
    def _known_labels(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        unknown = [name for name in value if name not in LABELS]
        if unknown:
            raise ValueError(
                f"unknown class {unknown[0]!r}: use 'face' or a COCO class name such as 'person', 'car' or 'dog'"
            )
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _classes_fit_kind(self) -> DetectionParams:
        if self.classes is None:
            return self
        if self.kind == "faces" and any(c != "face" for c in self.classes):
            raise ValueError("with kind 'faces' the only class is 'face': use kind 'objects' or 'all' for the others")
        if self.kind == "objects" and "face" in self.classes:
            raise ValueError("'face' comes from kind 'faces' or 'all', not 'objects'")
        return self


def rgb_array(image: Image.Image) -> np.ndarray:
    """`image` as an RGB uint8 array, transparency flattened onto white (hidden colours are not looked at)."""
    return np.asarray(flatten(image).convert("RGB"))


@uses_ml
def find(
    image: Image.Image,
    ctx: RunContext,
    kind: DetectKind,
    min_score: float,
    classes: list[str] | None = None,
) -> list[Detection]:
    """What the models find in `image`, best first; a model is only run when its labels are wanted."""
    faces = kind in ("faces", "all") and (classes is None or "face" in classes)
    objects = kind in ("objects", "all") and (classes is None or any(c != "face" for c in classes))
    ml = ctx.resource(MLSetup)
    face_model = require(ml.models_dir, "yunet") if faces else None
    object_model = require(ml.models_dir, "yolox_nano") if objects else None
    rgb = rgb_array(image)
    found: list[Detection] = []
    if face_model is not None:
        ctx.check_deadline()
        found += detect_faces(rgb, face_model, min_score)
    if object_model is not None:
        ctx.check_deadline()
        wanted = None if classes is None else [c for c in classes if c != "face"]
        found += detect_objects(rgb, object_model, min_score, wanted, device=ml.device)
    return sorted(found, key=sort_key)


def subject(image: Image.Image, gravity: str, ctx: RunContext) -> tuple[int, int, int, int] | None:
    """The box (left, top, right, bottom) around every face (gravity 'faces') or object ('objects') in
    `image`, or None when none is found."""
    kind: DetectKind = "faces" if gravity == "faces" else "objects"
    return union(find(image, ctx, kind, GRAVITY_MIN_SCORE))


def place(extent: float, limit: float, start: int, end: int) -> float:
    """Start of a window `extent` long inside [0, limit], centred on [start, end] and clamped inside."""
    return min(max((start + end) / 2 - extent / 2, 0.0), limit - extent)
