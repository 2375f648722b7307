"""metadata: format, size, mode and EXIF of the image as JSON."""

from __future__ import annotations

from pixmill.imaging.catalogue import Operation, Params, RunContext, register
from pixmill.imaging.values import DataValue, ImageValue, Value


class MetadataParams(Params):
    pass


def metadata(inputs: list[Value], p: MetadataParams, ctx: RunContext) -> Value:
    (src,) = inputs
    assert isinstance(src, ImageValue)
    im = src.image
    return DataValue(
        {
            "format": src.source_format,
            "width": im.width,
            "height": im.height,
            "mode": im.mode,
            "has_alpha": im.mode in ("LA", "RGBA"),
            "has_icc_profile": src.icc_profile is not None,
            "exif": src.exif,
        }
    )


register(
    Operation(
        name="metadata",
        summary="Report format, size, mode and EXIF as JSON.",
        params=MetadataParams,
        run=metadata,
        produces="data",
    )
)
