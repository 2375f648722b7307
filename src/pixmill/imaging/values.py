"""The values that flow between pipeline nodes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image


@dataclass
class ImageValue:
    """A decoded image plus what the encoder may want to keep from the source."""

    image: Image.Image
    source_format: str
    icc_profile: bytes | None = None
    exif: dict[str, Any] = field(default_factory=dict)  # the source's EXIF, by tag name (for reading)
    exif_out: dict[int, Any] = field(default_factory=dict)  # EXIF tags to write into outputs (by tag id)
    # The displayed size before the decoder shrank on load (None: not shrunk); sizes are planned on it.
    shrunk_from: tuple[int, int] | None = None

    # Animated sources: every frame (the first is `image`) with its duration in ms; None for stills.
    frames: list[Image.Image] | None = None
    durations: list[int] | None = None
    loop: int = 0

    @property
    def full_size(self) -> tuple[int, int]:
        return self.shrunk_from or self.image.size

    def with_image(self, image: Image.Image) -> ImageValue:
        """The same source information around a new (single-frame) image."""
        return replace(self, image=image, shrunk_from=None, frames=None, durations=None)

    @property
    def animated(self) -> bool:
        return self.frames is not None and len(self.frames) > 1


@dataclass(frozen=True)
class EncodedValue:
    """Encoded bytes ready to store."""

    data: bytes
    format: str
    media_type: str
    extension: str
    width: int
    height: int


@dataclass(frozen=True)
class DataValue:
    """A JSON-serialisable result (metadata, detections …)."""

    data: dict[str, Any]


@dataclass(frozen=True)
class BundleValue:
    """Several encoded results from one node (a fan-out such as thumbnails), by key."""

    items: dict[str, EncodedValue]


Value = ImageValue | EncodedValue | DataValue | BundleValue
