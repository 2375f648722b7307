from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AssetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    filename: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str
    created_at: datetime
    expires_at: datetime


class UploadResult(BaseModel):
    assets: list[AssetRead]
