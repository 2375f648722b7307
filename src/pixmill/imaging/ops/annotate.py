"""annotate: draw a box and a label ("person 0.91") round every face and object the models find.

Drawn with Pillow's built-in font, scaled to the image, one fixed colour per label, best detections on top:
the same image gives the same pixels. Grey images become colour; transparency is kept outside the boxes.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont
from pydantic import Field

from pixmill.imaging.catalogue import Operation, RunContext, register
from pixmill.imaging.channels import replace_image
from pixmill.imaging.detection import LABELS, DetectionParams, find
from pixmill.imaging.values import ImageValue, Value
from pixmill.ml.boxes import Detection

PALETTE = (
    (255, 56, 56),
    (50, 205, 50),
    (30, 144, 255),
    (255, 178, 29),
    (207, 56, 255),
    (0, 206, 209),
    (255, 112, 31),
    (146, 204, 23),
    (255, 55, 199),
    (132, 56, 255),
)


class AnnotateParams(DetectionParams):
    labels: bool = Field(default=True, description="Write each detection's label and score above its box.")


def colour_of(label: str) -> tuple[int, int, int]:
    return PALETTE[LABELS.index(label) % len(PALETTE)]


def draw_detections(im: Image.Image, found: list[Detection], labels: bool = True) -> Image.Image:
    """A copy of `im` (made RGB or RGBA) with every detection's box, and its label when `labels`, drawn on."""
    out = im.convert("RGBA" if im.mode in ("LA", "RGBA") else "RGB")
    if out is im:
        out = im.copy()
    draw = ImageDraw.Draw(out)
    line = max(2, round(max(out.size) / 250))
    font = ImageFont.load_default(size=max(10, round(max(out.size) / 40)))
    for d in reversed(found):  # the best drawn last, on top
        colour = colour_of(d.label)
        x, y, w, h = d.pixel_box()
        draw.rectangle((x, y, x + w - 1, y + h - 1), outline=(*colour, 255), width=line)
        if not labels:
            continue
        text = f"{d.label} {d.score:.2f}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tw, th = right - left + 2 * line, bottom - top + 2 * line
        ty = y - th if y - th >= 0 else y  # above the box, or inside it at the top edge
        tx = min(x, max(0, out.width - tw))
        draw.rectangle((tx, ty, tx + tw - 1, ty + th - 1), fill=(*colour, 255))
        ink = (0, 0, 0, 255) if sum(colour) > 450 else (255, 255, 255, 255)
        draw.text((tx + line - left, ty + line - top), text, fill=ink, font=font)
    return out


def annotate(inputs: list[Value], p: AnnotateParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    found = find(src.image, ctx, p.kind, p.min_score, p.classes)
    return replace_image(src, draw_detections(src.image, found, p.labels))


register(
    Operation(
        name="annotate",
        summary="Draw boxes and labels round the faces and objects (COCO's 80 classes) the models find.",
        params=AnnotateParams,
        run=annotate,
        queue="ml",
    )
)
