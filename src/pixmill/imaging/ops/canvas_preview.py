"""canvas_preview: the photo as a paint-by-dots canvas with a stored palette (what storefront <img> tags show)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pixmill.canvas.grid import CanvasSettings, needed_size, sample_image
from pixmill.canvas.types import Palettes
from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.values import EncodedValue, ImageValue, Value


class CanvasPreviewParams(CanvasSettings, Params):
    palette: str = Field(default="dmc", pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Stored palette name.")
    preview_width: int = Field(default=1200, ge=100, le=4000, description="Width of the preview in pixels.")
    preview_format: Literal["png", "jpeg"] = Field(default="png", description="png or jpeg.")


def _needs_size(p: CanvasPreviewParams, width: int, height: int) -> tuple[int, int]:
    return needed_size(p, width, height)


def canvas_preview(inputs: list[Value], p: CanvasPreviewParams, ctx: RunContext) -> Value:
    # here, not at the top: the plan's colour science pulls in scipy (~0.4 s), which every process that
    # loads the catalogue (a `pixmill process` batch, say) would otherwise pay at start
    from pixmill.canvas.plan import plan_from_grid
    from pixmill.canvas.preview import preview_size, render_preview

    (src,) = inputs
    assert isinstance(src, ImageValue)
    palette = ctx.resource(Palettes).by_name.get(p.palette)
    if palette is None:
        raise InvalidPipeline(
            f"palette {p.palette!r} is not stored", [{"node": None, "field": "params.palette", "message": "unknown"}]
        )
    plan = plan_from_grid(sample_image(src, p, ctx.limits), palette, p)
    width, height = preview_size(plan, p.preview_width)
    check_output_size((width, height), ctx.limits, "params.preview_width")
    data = render_preview(plan, p.preview_width, p.preview_format)
    jpeg = p.preview_format == "jpeg"
    return EncodedValue(
        data,
        "JPEG" if jpeg else "PNG",
        "image/jpeg" if jpeg else "image/png",
        "jpg" if jpeg else "png",
        p.preview_width,
        height,
    )


register(
    Operation(
        name="canvas_preview",
        summary="Render the image as a paint-by-dots canvas with a stored palette (the canvas settings as parameters).",
        params=CanvasPreviewParams,
        run=canvas_preview,
        produces="encoded",
        needs_size=_needs_size,
        per_frame=False,
        needs=lambda p: {Palettes: [p.palette]},
    )
)
