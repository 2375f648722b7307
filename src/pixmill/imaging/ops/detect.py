"""detect: find faces (YuNet) and objects (YOLOX-nano, COCO's 80 classes) and report them as JSON.

The result: ``{"detections": [{"label", "score", "box": [x, y, width, height]}, ...], "width", "height"}``,
boxes in whole pixels of the image as it reaches the node, best score first. An animation is looked at on its
first frame.
"""

from __future__ import annotations

from typing import Any

from pixmill.imaging.catalogue import Operation, RunContext, register
from pixmill.imaging.detection import DetectionParams, find
from pixmill.imaging.values import DataValue, ImageValue, Value
from pixmill.ml.boxes import Detection


class DetectParams(DetectionParams):
    pass


def as_json(d: Detection) -> dict[str, Any]:
    """One detection as the JSON the operations report: label, score (4 decimals) and whole-pixel box."""
    return {"label": d.label, "score": round(d.score, 4), "box": list(d.pixel_box())}


def detect(inputs: list[Value], p: DetectParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    found = find(src.image, ctx, p.kind, p.min_score, p.classes)
    return DataValue({"detections": [as_json(d) for d in found], "width": src.image.width, "height": src.image.height})


register(
    Operation(
        name="detect",
        summary="Find faces and objects (COCO's 80 classes); JSON with each label, score and box [x, y, w, h].",
        params=DetectParams,
        run=detect,
        produces="data",
        queue="ml",
    )
)
