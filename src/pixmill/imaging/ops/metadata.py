"""metadata: format, size, mode, EXIF, ICC description, dominant colours and BlurHash of the image as JSON."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
from PIL import Image, ImageCms
from pydantic import Field

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.encode import flatten
from pixmill.imaging.values import DataValue, ImageValue, Value

# Dominant colours and the BlurHash are computed on a copy no larger than this on either side.
SAMPLE_SIDE = 64
# Pixels at least this opaque count towards the dominant colours.
_OPAQUE = 128
# Size of the median-cut palette the dominant colours are the top of.
PALETTE_SIZE = 16
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"


class MetadataParams(Params):
    colors: int = Field(default=5, ge=1, le=16, description="How many dominant colours to report (1-16).")
    blurhash_x: int = Field(default=4, ge=1, le=9, description="BlurHash components across (1-9).")
    blurhash_y: int = Field(default=3, ge=1, le=9, description="BlurHash components down (1-9).")


def icc_description(icc: bytes | None) -> str | None:
    """The ICC profile's description, or None without a profile or when it cannot be read."""
    if not icc:
        return None
    try:
        text = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc)))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None
    return text.strip() or None


def sample(im: Image.Image, side: int = SAMPLE_SIDE) -> Image.Image:
    """An RGB or RGBA copy fitting inside side x side (aspect kept, never enlarged), area-averaged."""
    im = im.convert("RGBA" if im.mode in ("LA", "RGBA") else "RGB")
    scale = min(1.0, side / max(im.width, im.height))
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im if size == im.size else im.resize(size, Image.Resampling.BOX)


def dominant_colors(im: Image.Image, count: int) -> list[dict[str, Any]]:
    """The `count` commonest colours of a PALETTE_SIZE median-cut palette of `im` (no dithering), commonest
    first, each with its share of the opaque pixels."""
    rgba = np.asarray(im.convert("RGBA"))
    pixels = rgba[..., :3][rgba[..., 3] >= _OPAQUE]
    if not len(pixels):
        return []
    row = Image.fromarray(np.ascontiguousarray(pixels.reshape(1, -1, 3)))
    quantized = row.quantize(colors=PALETTE_SIZE, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = quantized.getpalette() or []
    counts: dict[str, int] = {}
    for n, index in quantized.getcolors(256) or []:
        assert isinstance(index, int)
        r, g, b = palette[3 * index : 3 * index + 3]
        key = f"#{r:02x}{g:02x}{b:02x}"
        counts[key] = counts.get(key, 0) + n
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:count]
    return [{"color": key, "share": round(n / len(pixels), 4)} for key, n in ranked]


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83**i) % 83] for i in range(length - 1, -1, -1))


def _linear_to_srgb(values: np.ndarray) -> list[int]:
    v = np.clip(values, 0.0, 1.0)
    srgb = np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    return [int(x) for x in np.floor(srgb * 255 + 0.5)]


def blurhash(im: Image.Image, x_components: int, y_components: int) -> str:
    """The BlurHash of `im` (alpha flattened onto white) with x_components x y_components components."""
    rgb = np.asarray(flatten(im).convert("RGB"), dtype=np.float64) / 255.0
    linear = np.where(rgb <= 0.04045, rgb / 12.92, np.power((rgb + 0.055) / 1.055, 2.4))
    height, width = linear.shape[:2]
    basis_x = np.cos(np.pi * np.outer(np.arange(x_components), np.arange(width)) / width)
    basis_y = np.cos(np.pi * np.outer(np.arange(y_components), np.arange(height)) / height)
    # factors[j, i] = mean over pixels of basis_y[j, y] * basis_x[i, x] * linear[y, x], doubled for AC terms
    factors = np.einsum("jy,yxc,ix->jic", basis_y, linear, basis_x) * (2.0 / (width * height))
    factors[0, 0] /= 2.0
    flat = factors.reshape(-1, 3)  # row by row: y component outer, x component inner
    dc, ac = flat[0], flat[1:]

    parts = [_base83((x_components - 1) + (y_components - 1) * 9, 1)]
    if len(ac):
        quantised_max = int(max(0, min(82, math.floor(float(np.abs(ac).max()) * 166 - 0.5))))
        maximum = (quantised_max + 1) / 166
    else:
        quantised_max, maximum = 0, 1.0
    parts.append(_base83(quantised_max, 1))
    r, g, b = _linear_to_srgb(dc)
    parts.append(_base83((r << 16) + (g << 8) + b, 4))
    scaled = ac / maximum
    quantised = np.clip(np.floor(np.sign(scaled) * np.sqrt(np.abs(scaled)) * 9 + 9.5), 0, 18).astype(np.int64)
    parts += [_base83(int(q[0]) * 361 + int(q[1]) * 19 + int(q[2]), 2) for q in quantised]
    return "".join(parts)


def metadata(inputs: list[Value], p: MetadataParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    im = src.image
    small = sample(im)
    return DataValue(
        {
            "format": src.source_format,
            "width": im.width,
            "height": im.height,
            "mode": im.mode,
            "has_alpha": im.mode in ("LA", "RGBA"),
            "has_icc_profile": src.icc_profile is not None,
            "exif": src.exif,
            "icc_description": icc_description(src.icc_profile),
            "dominant_colors": dominant_colors(small, p.colors),
            "blurhash": blurhash(small, p.blurhash_x, p.blurhash_y),
        }
    )


register(
    Operation(
        name="metadata",
        summary="Report format, size, mode, EXIF, ICC description, dominant colours and a BlurHash as JSON.",
        params=MetadataParams,
        run=metadata,
        produces="data",
    )
)
