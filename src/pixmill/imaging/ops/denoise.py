"""denoise: DnCNN denoising. The model arrives with the ML work; until then the operation says so."""

from __future__ import annotations

from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.errors import OperationUnavailable
from pixmill.imaging.values import Value


class DenoiseParams(Params):
    model: str = Field(default="color_blind", description="DnCNN model name.")
    strength: float = Field(default=1.0, ge=0.0, le=1.0, description="Blend with the input (1 = full).")


def denoise(inputs: list[Value], p: DenoiseParams, ctx: RunContext) -> Value:
    raise OperationUnavailable(
        "denoise is not available yet: DnCNN denoising has not been installed in this pixmill build"
    )


register(
    Operation(
        name="denoise",
        summary="Remove noise with DnCNN (not available yet in this build).",
        params=DenoiseParams,
        run=denoise,
        queue="ml",
    )
)
