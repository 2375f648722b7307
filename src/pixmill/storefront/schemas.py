from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pixmill.db.models import MAX_DB_INT

ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class LineItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    photo: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Asset id of the customer's photo.")
    palette: str = Field(default="dmc", max_length=64)
    palette_version: int | None = Field(
        default=None, ge=1, le=MAX_DB_INT, description="Default: the latest at payment."
    )
    canvas: dict[str, Any] = Field(default_factory=dict, description="Canvas settings (see the canvas engine).")


class OrderBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=ID)
    line_items: list[LineItem] = Field(min_length=1, max_length=50)


class OrderEventIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(pattern=ID, description="The event id: events are applied once per id.")
    type: Literal["order.created", "order.paid", "order.cancelled", "order.refunded"]
    created_at: datetime
    order: OrderBody


class EventResult(BaseModel):
    event_id: str
    order_id: str
    duplicate: bool
    state: str


class RenderRead(BaseModel):
    version: int
    item: int
    status: str
    palette: str
    palette_version: int
    preview_url: str | None
    guide_url: str | None
    plan_url: str | None
    quality: dict[str, Any] | None
    error: str | None


class OrderRead(BaseModel):
    id: str
    state: str
    version: int
    review_note: str | None
    items: list[dict[str, Any]]
    renders: list[RenderRead]
    created_at: datetime
    updated_at: datetime


class RejectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class RerenderBody(BaseModel):
    canvas: dict[str, Any] | None = Field(default=None, description="New canvas settings for every item.")
    palette_version: int | None = Field(default=None, ge=1, le=MAX_DB_INT)


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    palette: str = Field(default="dmc", max_length=64)
    palette_version: int | None = Field(default=None, ge=1, le=MAX_DB_INT)
    canvas: dict[str, Any] = Field(default_factory=dict)
    width: int = Field(default=1200, ge=100, le=4000, description="Preview width in pixels.")


class PreviewRead(BaseModel):
    preview_url: str
    cols: int
    rows: int
    legend: list[dict[str, Any]]
    quality: dict[str, Any]
    palette: str
    palette_version: int
