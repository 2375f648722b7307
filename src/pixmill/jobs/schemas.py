from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobCreate(BaseModel):
    inputs: list[str] = Field(min_length=1, max_length=100, description="Asset ids from /api/v1/uploads.")
    pipeline: list[dict[str, Any]] | dict[str, Any] = Field(
        description="A DAG {'nodes': [...]} or a list of steps run as a chain."
    )
    webhook_url: str | None = Field(default=None, description="Receives the final status as a signed POST.")


class OutputRead(BaseModel):
    input: int
    name: str
    node: str
    format: str | None
    media_type: str
    bytes: int
    width: int | None
    height: int | None
    url: str


class StepRead(BaseModel):
    input: int
    node: str
    op: str
    ms: float


class WebhookRead(BaseModel):
    url: str
    status: str | None


class JobRead(BaseModel):
    id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime
    inputs: list[str]
    pipeline: dict[str, Any]
    steps: list[StepRead]
    error: str | None
    outputs: list[OutputRead]
    metadata: dict[str, Any] | None
    webhook: WebhookRead | None


class JobPage(BaseModel):
    items: list[JobRead]
    total: int
    limit: int
    offset: int


class OperationRead(BaseModel):
    name: str
    summary: str
    accepts: list[str]
    produces: str
    queue: str
    inputs: list[int]
    params: dict[str, Any]
