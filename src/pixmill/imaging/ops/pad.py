"""pad: extend the canvas to a size, to an aspect, or by a margin on every side.

The image keeps its pixels exactly and sits on a ``background`` colour, placed by ``gravity`` (a
margin pads every side equally, so it takes no gravity). The output has alpha when the input has it
or the background is not opaque, and is grayscale only when the input is and the background is a
grey.
"""

from __future__ import annotations

from fractions import Fraction

from PIL import Image
from pydantic import Field, model_validator

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.geometry import MAX_SIDE, Aspect, parse_aspect
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.param_types import RGBA, Color, Gravity, anchored_offset
from pixmill.imaging.values import ImageValue, Value

WHITE: RGBA = (255, 255, 255, 255)


class PadParams(Params):
    width: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SIDE,
        description="Canvas width in pixels, at least the image's (default: the image's width).",
    )
    height: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SIDE,
        description="Canvas height in pixels, at least the image's (default: the image's height).",
    )
    aspect: Aspect | None = Field(
        default=None, description="Pad to the smallest canvas of this aspect ratio 'W:H' that holds the image."
    )
    margin: int | None = Field(default=None, ge=1, le=10_000, description="Pixels to add on every side.")
    gravity: Gravity = Field(default="centre", description="Where the image sits on a larger canvas.")
    background: Color = Field(
        default=WHITE,
        description="Canvas colour ('#rrggbb', '#rrggbbaa', a CSS name or [r, g, b(, a)]); "
        "alpha below 255 gives an output with alpha.",
    )

    @model_validator(mode="after")
    def _one_mode(self) -> PadParams:
        given = [
            name
            for name, present in (
                ("width/height", self.width is not None or self.height is not None),
                ("aspect", self.aspect is not None),
                ("margin", self.margin is not None),
            )
            if present
        ]
        if not given:
            raise ValueError("give width and/or height, an aspect such as '1:1', or a margin")
        if len(given) > 1:
            raise ValueError(f"give only one of width/height, aspect or margin, not {' and '.join(given)}")
        if self.margin is not None and self.gravity != "centre":
            raise ValueError("a margin pads every side equally: gravity does not apply to it")
        return self


def canvas_mode(mode: str, background: RGBA) -> str:
    """The mode that holds both an image of `mode` and `background` without losing either."""
    alpha = mode in ("LA", "RGBA") or background[3] < 255
    grey = mode in ("L", "LA") and background[0] == background[1] == background[2]
    if grey:
        return "LA" if alpha else "L"
    return "RGBA" if alpha else "RGB"


def fill_for(mode: str, background: RGBA) -> int | tuple[int, ...]:
    """`background` as a fill value of an image in `mode` (one of canvas_mode's)."""
    r, g, b, a = background
    if mode == "L":
        return r
    if mode == "LA":
        return r, a
    return (r, g, b) if mode == "RGB" else (r, g, b, a)


def _canvas(p: PadParams, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
    """The canvas size and the image's top-left on it."""
    w, h = size
    if p.margin is not None:
        return (w + 2 * p.margin, h + 2 * p.margin), (p.margin, p.margin)
    if p.aspect is not None:
        ratio = parse_aspect(p.aspect)
        wider = Fraction(w, h) > ratio  # wider than the aspect: add height, else add width
        canvas = (w, max(h, round(w / ratio))) if wider else (max(w, round(h * ratio)), h)
    else:
        canvas = (p.width or w, p.height or h)
        errors = [
            {
                "node": None,
                "field": f"params.{name}",
                "message": f"{name} {target} is smaller than the image's {name} {actual}",
            }
            for name, target, actual in (("width", canvas[0], w), ("height", canvas[1], h))
            if target < actual
        ]
        if errors:
            raise InvalidPipeline(
                f"pad cannot shrink: the canvas {canvas[0]}x{canvas[1]} is smaller than the {w}x{h} image "
                "(use crop or resize)",
                errors,
            )
    return canvas, anchored_offset(canvas, size, p.gravity)


def pad(inputs: list[Value], p: PadParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    im = src.image
    size, offset = _canvas(p, im.size)
    field = "params.margin" if p.margin is not None else "params.aspect" if p.aspect is not None else "params"
    check_output_size(size, ctx.limits, field)
    mode = canvas_mode(im.mode, p.background)
    canvas = Image.new(mode, size, fill_for(mode, p.background))
    canvas.paste(im if im.mode == mode else im.convert(mode), offset)
    return src.with_image(canvas)


register(
    Operation(
        name="pad",
        summary="Extend the canvas to a size, an aspect or by a margin, on a background colour.",
        params=PadParams,
        run=pad,
    )
)
