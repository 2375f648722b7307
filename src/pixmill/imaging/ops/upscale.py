"""upscale: enlarge 2, 3 or 4 times with a super-resolution network (FSRCNN or ESPCN) or bicubic.

``model="auto"`` uses FSRCNN for the scale when its model file (ONNX, run by onnxruntime) is installed and
the ml extra is there, and otherwise falls back to bicubic. A fallback is never silent: it is logged as a
warning on ``pixmill.ml`` and written into the output, whose EXIF Software tag (0x0131) says how it was
enlarged, e.g. ``pixmill upscale x2: bicubic (fallback from FSRCNN: model fsrcnn_x2 is missing …)``.
Every upscale writes that tag (``pixmill upscale x2: FSRCNN`` when the network ran), so an output always
tells how it was made; ``strip`` drops it like any other EXIF, and GIF outputs carry no EXIF at all.

A model named explicitly (``fsrcnn``, ``espcn``) that is not installed is an error, not a fallback.
The output size is checked against the limits before anything is computed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import ExifTags, Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.errors import OperationUnavailable
from pixmill.imaging.inference import uses_ml
from pixmill.imaging.limits import check_output_size
from pixmill.imaging.values import ImageValue, Value
from pixmill.ml import superres
from pixmill.ml.model_files import MLSetup, require, status

log = logging.getLogger("pixmill.ml")

SOFTWARE_TAG = int(ExifTags.Base.Software)
_LABELS = {"fsrcnn": "FSRCNN", "espcn": "ESPCN", "bicubic": "bicubic"}
_GRAY_MODES = {"1", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_STATE_REASONS = {
    "missing": "is missing from the models directory",
    "corrupt": "does not match its sha256",
    "no models directory": "cannot be found: no models directory is configured",
}


class UpscaleParams(Params):
    scale: Literal[2, 3, 4] = Field(default=2, description="Enlargement factor: 2, 3 or 4.")
    model: Literal["auto", "fsrcnn", "espcn", "bicubic"] = Field(
        default="auto",
        description="auto: FSRCNN when installed, else bicubic (the output's EXIF Software tag says which); "
        "fsrcnn or espcn: that network (an error when not installed); bicubic: interpolation only.",
    )


@dataclass(frozen=True)
class _Plan:
    method: Literal["fsrcnn", "espcn", "bicubic"]
    model_path: Path | None
    note: str  # how the image is enlarged, for the output's EXIF


def _plan(p: UpscaleParams, models_dir: Path | None) -> _Plan:
    prefix = f"pixmill upscale x{p.scale}"
    if p.model == "bicubic":
        return _Plan("bicubic", None, f"{prefix}: bicubic")
    if p.model != "auto":  # named explicitly: missing is an error
        path = require(models_dir, f"{p.model}_x{p.scale}")
        if problem := superres.unavailable():
            raise OperationUnavailable(problem)
        return _Plan(p.model, path, f"{prefix}: {_LABELS[p.model]}")
    name = f"fsrcnn_x{p.scale}"
    st = status(models_dir, name)
    if st.state == "installed" and not (problem := superres.unavailable()):
        return _Plan("fsrcnn", st.path, f"{prefix}: FSRCNN")
    if st.state != "installed":  # the relative path only: the note ends up in the output file
        problem = f"model {name} ({st.model.path}) {_STATE_REASONS.get(st.state, st.state)}"
    reason = problem or "unknown"
    log.warning(
        "upscale falls back to bicubic: %s",
        reason,
        extra={"model": name, "model_state": st.state, "model_path": str(st.path), "scale": p.scale},
    )
    return _Plan("bicubic", None, f"{prefix}: bicubic (fallback from FSRCNN: {reason})")


def _normalised(im: Image.Image) -> Image.Image:
    """`im` in L, LA, RGB or RGBA (the modes the decoder makes; other operations may leave others)."""
    if im.mode in ("L", "LA", "RGB", "RGBA"):
        return im
    if im.mode in _GRAY_MODES:
        return im.convert("L")
    has_alpha = "A" in im.getbands() or "a" in im.getbands() or "transparency" in im.info
    return im.convert("RGBA" if has_alpha else "RGB")


def _enlarge(im: Image.Image, plan: _Plan, scale: int, ctx: RunContext) -> Image.Image:
    im = _normalised(im)
    size = (im.width * scale, im.height * scale)
    if plan.method == "bicubic":
        return im.resize(size, Image.Resampling.BICUBIC)
    assert plan.model_path is not None
    pixels = superres.upsample(
        np.asarray(im),
        plan.method,
        scale,
        plan.model_path,
        between=ctx.check_deadline,
        device=ctx.resource(MLSetup).device,
    )
    return Image.fromarray(pixels)


@uses_ml
def upscale(inputs: list[Value], p: UpscaleParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    frames = src.frames if src.animated and src.frames is not None else [src.image]
    check_output_size((src.image.width * p.scale, src.image.height * p.scale), ctx.limits, "params.scale", len(frames))
    plan = _plan(p, ctx.resource(MLSetup).models_dir)
    out: list[Image.Image] = []
    for frame in frames:
        ctx.check_deadline()
        out.append(_enlarge(frame, plan, p.scale, ctx))
    earlier = src.exif_out.get(SOFTWARE_TAG)  # an earlier upscale's note: keep both
    note = f"{earlier}; {plan.note}" if isinstance(earlier, str) and earlier.startswith("pixmill ") else plan.note
    return replace(
        src,
        image=out[0],
        frames=out if src.animated else None,
        durations=src.durations if src.animated else None,
        shrunk_from=None,
        exif_out={**src.exif_out, SOFTWARE_TAG: note},
    )


def _queue(p: UpscaleParams) -> Literal["standard", "ml"]:
    """Plain bicubic needs no model: it runs with the standard work."""
    return "standard" if p.model == "bicubic" else "ml"


register(
    Operation(
        name="upscale",
        summary="Enlarge 2, 3 or 4 times with a super-resolution network (FSRCNN or ESPCN) or bicubic; "
        "auto falls back to bicubic when FSRCNN is not installed and says so in the output's EXIF Software tag.",
        params=UpscaleParams,
        run=upscale,
        queue="ml",
        queue_of=_queue,
        # Runs once over every frame itself, so the note it leaves in the EXIF is kept.
        per_frame=False,
    )
)
