"""gamma: power-law tone curve through a 256-entry lookup table, output = 255 * (v / 255) ** (1 / gamma).

Convention: gamma > 1 brightens the mid-tones (2.2 maps 128 to 186), gamma < 1 darkens them, 1 changes
nothing; black and white stay where they are. Alpha is untouched.
"""

from __future__ import annotations

from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import lookup, on_colour
from pixmill.imaging.values import ImageValue, Value


class GammaParams(Params):
    gamma: float = Field(
        ge=0.1,
        le=10.0,
        description="Output = 255 * (v / 255) ** (1 / gamma): > 1 brightens the mid-tones, < 1 darkens them, "
        "1 changes nothing.",
    )


def gamma_table(gamma: float) -> list[int]:
    """The 256-entry table for `gamma` (rounded to the nearest level)."""
    return [round(255 * (v / 255) ** (1 / gamma)) for v in range(256)]


def gamma(inputs: list[Value], p: GammaParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    table = gamma_table(p.gamma)
    return src.with_image(on_colour(src.image, lambda colour: lookup(colour, table)))


register(
    Operation(
        name="gamma",
        summary="Apply a gamma curve, 255 * (v / 255) ** (1 / gamma): > 1 brightens mid-tones, < 1 darkens them.",
        params=GammaParams,
        run=gamma,
    )
)
