"""denoise: DnCNN denoising of the colour channels; alpha is left as it is.

Models (files under the models directory, see pixmill.ml.manifest):
- auto (default): color_blind for colour images, gray_blind for grayscale ones;
- color_blind (CDnCNN-B) and gray_blind (DnCNN-B): blind, for Gaussian-like noise of any level up to 55/255;
- dncnn_15, dncnn_25, dncnn_50 (DnCNN-S): grayscale, trained for one noise level each.

A grayscale model on a colour image denoises each of R, G and B on its own (their noise is independent, which
is what those models expect). The colour model on a grayscale image is refused: the grey copied into three
channels carries the same noise in each, which the colour model takes for detail and leaves (about +0.2 dB
where gray_blind gains 6 dB), so the error says to use auto or gray_blind. The image keeps its mode. The
output is `input + strength * (denoised - input)`, clipped and rounded to 8 bits.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.channels import join_alpha, split_alpha
from pixmill.imaging.errors import InvalidPipeline
from pixmill.imaging.inference import uses_ml
from pixmill.imaging.values import ImageValue, Value
from pixmill.ml import dncnn
from pixmill.ml.device import resolve
from pixmill.ml.model_files import MLSetup, require

ModelName = Literal["auto", "color_blind", "gray_blind", "dncnn_15", "dncnn_25", "dncnn_50"]

# operation's model name -> name in the model manifest
MODEL_FILES = {
    "color_blind": "dncnn_color_blind",
    "gray_blind": "dncnn_gray_blind",
    "dncnn_15": "dncnn_15",
    "dncnn_25": "dncnn_25",
    "dncnn_50": "dncnn_50",
}


class DenoiseParams(Params):
    model: ModelName = Field(
        default="auto",
        description="DnCNN model: auto (color_blind for colour, gray_blind for grayscale images), color_blind, "
        "gray_blind, or dncnn_15 / dncnn_25 / dncnn_50 (grayscale, one noise level each; on a colour image "
        "each channel is denoised on its own). color_blind does not take grayscale images.",
    )
    strength: float = Field(default=1.0, ge=0.0, le=1.0, description="Blend with the input (1 = full).")
    tile: int | None = Field(
        default=None,
        ge=32,
        le=8192,
        description=f"Largest tile in px (each reads {dncnn.MARGIN} px more on every side); bounds memory. The "
        f"CPU engine streams rows and cuts only columns (default {dncnn.DEFAULT_STRIP} wide); torch, on a GPU, "
        f"cuts squares (default {dncnn.DEFAULT_TILE}).",
    )


def model_for(p: DenoiseParams, grey: bool) -> str:
    """The manifest name of the model that runs on a grayscale (`grey`) or colour image."""
    if p.model == "auto":
        return MODEL_FILES["gray_blind" if grey else "color_blind"]
    if p.model == "color_blind" and grey:
        message = "color_blind is a colour model and this image is grayscale: use model auto or gray_blind"
        raise InvalidPipeline(message, [{"node": None, "field": "params.model", "message": message}])
    return MODEL_FILES[p.model]


def denoise_pixels(model: dncnn.DnCNN, pixels: np.ndarray, tile: int | None, ctx: RunContext) -> np.ndarray:
    """Denoised float pixels, [h, w] (grey) or [h, w, 3] (colour); a grayscale model does colour channel by channel."""
    device = resolve(ctx.resource(MLSetup).device)
    if pixels.ndim == 3 and model.channels == 1:
        channels = [
            dncnn.denoise(model, pixels[:, :, c], tile, ctx.check_deadline, device) for c in range(pixels.shape[2])
        ]
        return np.stack(channels, axis=2)
    return dncnn.denoise(model, pixels, tile, ctx.check_deadline, device)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """Float pixels in [0, 1] as uint8: scaled, rounded and clipped (in place: `pixels` is overwritten)."""
    pixels *= np.float32(255)
    np.rint(pixels, out=pixels)
    np.clip(pixels, 0, 255, out=pixels)
    return pixels.astype(np.uint8)


@uses_ml
def denoise(inputs: list[Value], p: DenoiseParams, ctx: RunContext) -> Value:
    src = inputs[0]
    assert isinstance(src, ImageValue)
    if p.strength == 0:
        return src
    colour, alpha = split_alpha(src.image)
    dncnn.require_torch()
    model = dncnn.load_model(require(ctx.resource(MLSetup).models_dir, model_for(p, colour.mode == "L")))
    pixels = np.asarray(colour, dtype=np.float32) / np.float32(255)
    out = denoise_pixels(model, pixels, p.tile, ctx)
    if p.strength < 1:
        out -= pixels
        out *= np.float32(p.strength)
        out += pixels
    denoised = Image.fromarray(to_8bit(out))  # [h, w] -> L, [h, w, 3] -> RGB
    return src.with_image(join_alpha(denoised, alpha))


register(
    Operation(
        name="denoise",
        summary="Remove noise with DnCNN (auto: colour or grayscale blind model); alpha is kept.",
        params=DenoiseParams,
        run=denoise,
        queue="ml",
    )
)
