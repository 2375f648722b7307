"""The values that flow between pipeline nodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image


@dataclass
class ImageValue:
    """A decoded image plus what the encoder may want to keep from the source."""

    image: Image.Image
    source_format: str
    icc_profile: bytes | None = None
    exif: dict[str, Any] = field(default_factory=dict)
    # The displayed size before the decoder shrank on load (None: not shrunk); sizes are planned on it.
    shrunk_from: tuple[int, int] | None = None

    @property
    def full_size(self) -> tuple[int, int]:
        return self.shrunk_from or self.image.size


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


Value = ImageValue | EncodedValue | DataValue
