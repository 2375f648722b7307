from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ProcessAccepted(BaseModel):
    job_id: str = Field(description="The job's UUID, with dashes.")
    status: str


class CompatJob(BaseModel):
    job_id: str = Field(description="The job's UUID, with dashes.")
    status: str = Field(description="PENDING, PROCESSING, COMPLETED, FAILED or COMPLETED_WEBHOOK_FAILED.")
    operations: list[str] | None
    result_urls: dict[str, str] = Field(description="Operation → download URL, image results only.")
    archive_url: str | None = Field(description="ZIP of the result files; null when there is none.")
    metadata: dict[str, Any] = Field(
        description="EXIF summary (with the metadata operation): camera_make, camera_model, lens_model, "
        "captured_at, exposure_time, aperture, iso, gps; {} otherwise."
    )
    error_message: str | None
    created_at: datetime
