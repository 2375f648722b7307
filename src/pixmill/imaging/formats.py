"""The formats pixmill reads and writes, by Pillow's name."""

from __future__ import annotations

from dataclasses import dataclass

READABLE = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "TIFF", "BMP", "HEIF")
ANIMATED_OUTPUTS = ("GIF", "WEBP")


@dataclass(frozen=True)
class OutputFormat:
    name: str  # Pillow's format name
    media_type: str
    extension: str
    has_alpha: bool
    lossy: bool


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    "jpeg": OutputFormat("JPEG", "image/jpeg", "jpg", has_alpha=False, lossy=True),
    "png": OutputFormat("PNG", "image/png", "png", has_alpha=True, lossy=False),
    "webp": OutputFormat("WEBP", "image/webp", "webp", has_alpha=True, lossy=True),
    "avif": OutputFormat("AVIF", "image/avif", "avif", has_alpha=True, lossy=True),
    "gif": OutputFormat("GIF", "image/gif", "gif", has_alpha=True, lossy=False),
    "tiff": OutputFormat("TIFF", "image/tiff", "tiff", has_alpha=True, lossy=False),
}


def output_format_for(source_format: str) -> OutputFormat:
    """The output format used when a pipeline ends on an image without an explicit conversion."""
    key = source_format.lower()
    if key == "heif":  # phones' photos are delivered as JPEG unless asked otherwise
        key = "jpeg"
    return OUTPUT_FORMATS.get(key, OUTPUT_FORMATS["png"])
