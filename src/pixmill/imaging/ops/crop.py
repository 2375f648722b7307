"""crop: cut out a rectangle, or the largest region of an aspect (or a size) placed by gravity.

Three ways to say what to keep:

- a rectangle: ``x``, ``y``, ``width``, ``height`` in pixels of the image as it reaches the node;
  it must lie inside the image;
- an aspect ``"W:H"`` (``"16:9"``, ``"1.91:1"``): the largest region of that shape;
- a size ``width`` + ``height`` without ``x``/``y``: exactly that many pixels when it fits, otherwise
  the largest region of that shape.

The last two are placed by ``gravity``: a compass point, ``focal`` (centred on ``focal_x``,
``focal_y`` given as fractions 0..1 of the width and height, clamped inside the image), ``smart``
(the window with the most edge energy on a small grayscale copy; ties go to the window nearest the
centre), or ``faces`` / ``objects`` (centred on the box round every face, or every object, the models
find, clamped inside the image, so the window holds them all when it can; the centre when none is found).
Those two run a model, so a crop with them goes to the ``ml`` queue.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import Field, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.detection import place, subject
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.geometry import MAX_SIDE, Aspect, cut, largest_region, parse_aspect, smart_offset
from pixmill.imaging.param_types import Gravity, anchored_offset
from pixmill.imaging.values import ImageValue, Value

CropGravity = Literal[Gravity, "smart", "focal", "faces", "objects"]


class CropParams(Params):
    x: int | None = Field(
        default=None, ge=0, le=MAX_SIDE, description="Left edge of the rectangle in pixels (rectangle mode)."
    )
    y: int | None = Field(
        default=None, ge=0, le=MAX_SIDE, description="Top edge of the rectangle in pixels (rectangle mode)."
    )
    width: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SIDE,
        description="Width in pixels: of the rectangle (with x and y), or of the target size (without them).",
    )
    height: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SIDE,
        description="Height in pixels: of the rectangle (with x and y), or of the target size (without them).",
    )
    aspect: Aspect | None = Field(
        default=None, description="Keep the largest region of this aspect ratio 'W:H', e.g. '16:9'."
    )
    gravity: CropGravity = Field(
        default="centre",
        description="Where an aspect or size crop sits: a compass point, 'smart' (the most detailed "
        "window), 'focal' (centred on focal_x, focal_y), or 'faces' / 'objects' (centred on every face, or "
        "object, the models find). Not used with a rectangle.",
    )
    focal_x: float | None = Field(
        default=None, ge=0.0, le=1.0, description="With gravity 'focal': the point to centre on, 0 (left) - 1 (right)."
    )
    focal_y: float | None = Field(
        default=None, ge=0.0, le=1.0, description="With gravity 'focal': the point to centre on, 0 (top) - 1 (bottom)."
    )

    @model_validator(mode="after")
    def _one_mode(self) -> CropParams:
        if self.x is not None or self.y is not None:
            missing = [n for n in ("x", "y", "width", "height") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"a crop rectangle needs x, y, width and height: {', '.join(missing)} missing")
            if self.aspect is not None:
                raise ValueError("aspect cannot be combined with x and y: give a rectangle or an aspect, not both")
            if self.gravity != "centre":
                raise ValueError("gravity does not apply to a rectangle (x, y): leave it out or drop x and y")
        elif self.aspect is not None:
            if self.width is not None or self.height is not None:
                raise ValueError("give aspect or width and height, not both")
        elif self.width is None and self.height is None:
            raise ValueError("give a rectangle (x, y, width, height), an aspect such as '16:9', or width and height")
        elif self.width is None or self.height is None:
            raise ValueError("a size crop needs both width and height (add x and y for a rectangle)")
        focal = self.focal_x is not None or self.focal_y is not None
        if self.gravity == "focal" and (self.focal_x is None or self.focal_y is None):
            raise ValueError("gravity 'focal' needs both focal_x and focal_y (fractions 0-1 of width and height)")
        if focal and self.gravity != "focal":
            raise ValueError("focal_x and focal_y apply only with gravity 'focal'")
        return self


def _rectangle(p: CropParams, size: tuple[int, int]) -> tuple[int, int, int, int]:
    assert p.x is not None and p.y is not None and p.width is not None and p.height is not None
    w, h = size
    errors = []
    for name, start, extent, side, limit in (("x", p.x, p.width, "width", w), ("y", p.y, p.height, "height", h)):
        if start >= limit:
            errors.append(
                {"node": None, "field": f"params.{name}", "message": f"{name}={start} is outside the {w}x{h} image"}
            )
        elif start + extent > limit:
            errors.append(
                {
                    "node": None,
                    "field": f"params.{side}",
                    "message": f"{name} + {side} = {start + extent} is past the image's {side} of {limit} "
                    f"(the image is {w}x{h})",
                }
            )
    if errors:
        raise InvalidPipeline(
            f"the crop rectangle x={p.x}, y={p.y}, {p.width}x{p.height} does not lie inside the {w}x{h} image", errors
        )
    return p.x, p.y, p.x + p.width, p.y + p.height


def _offset(p: CropParams, src: ImageValue, crop: tuple[int, int], ctx: RunContext) -> tuple[int, int]:
    w, h = src.image.size
    cw, ch = crop
    if p.gravity == "smart":
        return smart_offset(src.frames or [src.image], crop, ctx)
    if p.gravity == "focal":
        assert p.focal_x is not None and p.focal_y is not None
        left = round(p.focal_x * w - cw / 2)
        top = round(p.focal_y * h - ch / 2)
        return min(max(left, 0), w - cw), min(max(top, 0), h - ch)
    if p.gravity in ("faces", "objects"):
        box = subject(src.image, p.gravity, ctx)
        if box is None:
            return anchored_offset((w, h), crop, "centre")
        return round(place(cw, w, box[0], box[2])), round(place(ch, h, box[1], box[3]))
    return anchored_offset((w, h), crop, p.gravity)


def crop(inputs: list[Value], p: CropParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    im = src.image
    if p.x is not None:
        return cut(src, _rectangle(p, im.size))
    if p.aspect is not None:
        size = largest_region(im.size, parse_aspect(p.aspect))
    else:
        assert p.width is not None and p.height is not None
        fits = p.width <= im.width and p.height <= im.height
        size = (p.width, p.height) if fits else largest_region(im.size, Fraction(p.width, p.height))
    left, top = _offset(p, src, size, ctx)
    return cut(src, (left, top, left + size[0], top + size[1]))


register(
    Operation(
        name="crop",
        summary="Cut out a rectangle, or the largest region of an aspect or size placed by gravity "
        "(compass, smart, focal, faces or objects).",
        params=CropParams,
        run=crop,
        queue_of=lambda p: "ml" if p.gravity in ("faces", "objects") else "standard",
        per_frame=False,  # one window for every frame of an animation (smart gravity scores them all)
    )
)
