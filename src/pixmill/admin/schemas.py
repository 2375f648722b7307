"""Admin request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixmill.db.models import MAX_DB_INT, MAX_INT64


class UserAdminRead(BaseModel):
    id: str
    email: str
    display_name: str
    roles: list[str]
    disabled: bool
    sso: bool = Field(description="Whether the account signs in through single sign-on")
    quota_jobs_per_minute: int | None = Field(description="The user's own quota (null: the deployment's default)")
    quota_storage_bytes: int | None = Field(description="The user's own quota (null: the deployment's default)")
    stored_bytes: int
    created_at: datetime


class UserPatch(BaseModel):
    """What an admin may change; fields left out stay as they are. A quota of null returns to the default."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Literal["user", "staff", "admin"]] | None = Field(default=None, max_length=3)
    disabled: bool | None = None
    quota_jobs_per_minute: int | None = Field(default=None, ge=0, le=MAX_DB_INT)
    quota_storage_bytes: int | None = Field(default=None, ge=0, le=MAX_INT64)


class AuditRead(BaseModel):
    id: int
    at: datetime
    event: str
    user_id: str | None
    actor_id: str | None
    address: str | None
    detail: dict[str, Any]
