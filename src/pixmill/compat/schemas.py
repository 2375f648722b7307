from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class ProcessAccepted(BaseModel):
    job_id: str
    status: str


class CompatJob(BaseModel):
    job_id: str
    status: str
    operations: list[str] | None
    result_urls: dict[str, str]
    archive_url: str | None
    metadata: dict[str, Any] | None
    error_message: str | None
    created_at: datetime
