"""How PixTools shows a job: dashed UUIDs, its download names and its EXIF summary (pure functions, no I/O).

It imports nothing of pixmill and sits low in the layers: the API (errors and OpenAPI on the PixTools routes), the
jobs domain (a PixTools job's archive and webhook payload) and the compat routes all use it.
"""

from __future__ import annotations

import math
import re
import uuid
from fractions import Fraction
from typing import Any

# The longest download name the signed-URL route accepts (its `filename` query parameter).
MAX_NAME = 255


def is_pixtools_path(path: str) -> bool:
    """Whether a request path is one of the PixTools routes (POST /api/process, GET /api/jobs/{id})."""
    return path == "/api/process" or path.startswith("/api/jobs/")


class BadJobId(ValueError):
    """A job id that is not a UUID (PixTools answers 422 for it)."""


def public_job_id(job_id: str) -> str:
    """The id as PixTools shows it: a UUID with dashes (pixmill stores the 32 hex digits)."""
    return str(uuid.UUID(hex=job_id))


def stored_job_id(raw: str) -> str:
    """The stored id for a UUID given with or without dashes (braces and 'urn:uuid:' too, as uuid.UUID reads)."""
    try:
        return uuid.UUID(raw).hex
    except ValueError:
        raise BadJobId(f"job_id {raw!r} is not a valid UUID") from None


def original_stem(filename: str | None) -> str:
    """The upload's name without its last extension, as PixTools names downloads ('image' without a name)."""
    if not filename:
        return "image"
    return filename.rsplit(".", 1)[0] if "." in filename else filename


def _fit(prefix: str, stem: str, suffix: str) -> str:
    # A control character or a path separator has no place in a suggested file name.
    stem = re.sub(r"[\x00-\x1f\x7f/\\]", "_", stem)
    return prefix + stem[: max(0, MAX_NAME - len(prefix) - len(suffix))] + suffix


def download_name(operation: str, filename: str | None, extension: str) -> str:
    """`pixtools_<operation>_<original stem>.<extension>`, cut to MAX_NAME characters."""
    return _fit(f"pixtools_{operation}_", original_stem(filename), f".{extension}")


def archive_name(filename: str | None) -> str:
    """`pixtools_bundle_<original stem>.zip`, cut to MAX_NAME characters."""
    return _fit("pixtools_bundle_", original_stem(filename), ".zip")


def is_result_file(media_type: str) -> bool:
    """Whether PixTools lists an output among the result files: images yes, data (the metadata JSON) no."""
    return media_type != "application/json"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _exposure(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return f"{float(value):.4f}s"
    if isinstance(value, float) and math.isfinite(value):
        fraction = Fraction(value).limit_denominator(1_000_000)  # pixmill keeps rationals as floats
        return f"{fraction.numerator}/{fraction.denominator}s"
    return None


def _degrees(parts: Any, ref: Any) -> float | None:
    if not isinstance(parts, list) or len(parts) != 3 or ref is None:
        return None
    d, m, s = (_number(p) for p in parts)
    if d is None or m is None or s is None:
        return None
    decimal = d + m / 60.0 + s / 3600.0
    return round(-decimal if ref in ("S", "W") else decimal, 6)


def pixtools_metadata(exif: dict[str, Any]) -> dict[str, Any]:
    """PixTools' EXIF summary from pixmill's EXIF dict (tag name → JSON value).

    Keys, each only when the image has it: camera_make, camera_model, lens_model, captured_at,
    exposure_time ('1/125s'), aperture ('f/2.8'), iso (int), gps ({latitude, longitude}, decimal degrees).
    """
    out: dict[str, Any] = {}
    for key, tag in (("camera_make", "Make"), ("camera_model", "Model"), ("lens_model", "LensModel")):
        if exif.get(tag):
            out[key] = str(exif[tag]).strip()
    if exif.get("DateTimeOriginal"):
        out["captured_at"] = str(exif["DateTimeOriginal"])
    exposure = _exposure(exif.get("ExposureTime"))
    if exposure:
        out["exposure_time"] = exposure
    f_number = _number(exif.get("FNumber"))
    if f_number is not None:
        out["aperture"] = f"f/{round(f_number, 2)}"
    iso = exif.get("ISOSpeedRatings") or exif.get("PhotographicSensitivity")
    if isinstance(iso, list):
        iso = iso[0] if iso else None
    if isinstance(iso, int | float) and not isinstance(iso, bool):
        out["iso"] = int(iso)
    latitude = _degrees(exif.get("GPSLatitude"), exif.get("GPSLatitudeRef"))
    longitude = _degrees(exif.get("GPSLongitude"), exif.get("GPSLongitudeRef"))
    if latitude is not None or longitude is not None:
        out["gps"] = {"latitude": latitude, "longitude": longitude}
    return out
