"""Storefront routes: canvas previews, signed order events, staff review of orders."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from pixmill.api.deps import AUTH_RESPONSES, BaseUrl, Caller, Ctx, Runner, require_scope
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.assets.service import get_asset
from pixmill.canvas.grid import CanvasSettings
from pixmill.context import Context
from pixmill.db.models import MAX_DB_INT, Order, OrderRender
from pixmill.imaging.limits import loads
from pixmill.palettes.service import load as load_palette
from pixmill.storefront import service
from pixmill.storefront.event_signatures import SIGNATURE_HEADER, verify
from pixmill.storefront.schemas import (
    EventResult,
    OrderEventIn,
    OrderRead,
    PreviewRead,
    PreviewRequest,
    RejectBody,
    RenderRead,
    RerenderBody,
)
from pixmill.storefront.tasks import submit_render
from pixmill.worker.port import Runner as RunnerPort
from pixmill.worker.registry import CANVAS_PREVIEW, ORDER_GUIDE

log = logging.getLogger("pixmill.storefront")

router = APIRouter(prefix="/api/v1", tags=["storefront"], route_class=BoundedJsonRoute)

# The staff review routes: an account with the staff role (a session, or an API key with the `orders` scope).
Staff = require_scope("orders")


def _url(ctx: Context, key: str | None, base: str, name: str) -> str | None:
    if not key:
        return None
    expires = datetime.now(UTC) + timedelta(hours=ctx.settings.retention_hours)
    return ctx.storage.signed_url(key, expires, base, name)


def order_read(ctx: Context, order: Order, renders: list[OrderRender], base: str) -> OrderRead:
    return OrderRead(
        id=order.id,
        state=order.state,
        version=order.version,
        review_note=order.review_note,
        items=order.items,
        created_at=order.created_at,
        updated_at=order.updated_at,
        renders=[
            RenderRead(
                version=r.version,
                item=r.item_index,
                status=r.status,
                palette=r.palette_name,
                palette_version=r.palette_version,
                quality=r.quality,
                error=r.error,
                preview_url=_url(ctx, r.preview_key, base, f"{order.id}-v{r.version}-{r.item_index}.png"),
                guide_url=_url(ctx, r.guide_key, base, f"{order.id}-v{r.version}-{r.item_index}.pdf"),
                plan_url=_url(ctx, r.plan_key, base, f"{order.id}-v{r.version}-{r.item_index}.json"),
            )
            for r in renders
        ],
    )


@router.post(
    "/canvas/previews",
    summary="A photo on a canvas: preview image, legend and quality report",
    responses={
        404: {"description": "No such asset (or another user's) or palette"},
        413: {"description": "The image is over the limits"},
        422: {"description": "Bad canvas settings, or an image that cannot be decoded"},
        503: {"description": "Storage unreachable, or its worker process stopped (killed, out of memory): try again"},
    },
)
async def create_preview(ctx: Ctx, runner: Runner, base: BaseUrl, caller: Caller, body: PreviewRequest) -> PreviewRead:
    try:
        canvas = CanvasSettings.model_validate(body.canvas).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise Problem(
            422, "Invalid canvas settings", "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors
        ) from None
    asset = await run_in_threadpool(get_asset, ctx, body.asset_id)
    if asset is None or not caller.reaches(asset.owner_id):  # public, but only on photos the caller may use
        raise Problem(404, "Asset not found", f"no asset has the id {body.asset_id!r}")

    palette = await run_in_threadpool(load_palette, ctx, body.palette, body.palette_version)
    key = service.preview_key(asset.sha256, palette.name, palette.version, canvas, body.width)
    payload = {"storage_key": asset.storage_key, "palette": palette, "canvas": canvas, "width": body.width, "key": key}
    result = await asyncio.wrap_future(runner.call(CANVAS_PREVIEW, payload))
    return PreviewRead(
        preview_url=_url(ctx, key, base, "preview.png") or "",
        palette=palette.name,
        palette_version=palette.version,
        **result,
    )


@router.post(
    "/storefront/events",
    status_code=status.HTTP_200_OK,
    summary="Order events from the shop (HMAC-signed; applied once per event id)",
    responses={
        401: {"description": "Missing, bad or stale signature: nothing is stored"},
        403: {"description": "Events are disabled (PIXMILL_STOREFRONT_SECRET is unset)"},
        413: {"description": "The request body is over PIXMILL_MAX_REQUEST_BYTES"},
        422: {"description": "Malformed event"},
    },
)
async def receive_event(request: Request, ctx: Ctx, runner: Runner) -> EventResult:
    secret = ctx.settings.storefront_secret
    if not secret:
        raise Problem(403, "Forbidden", "storefront events are disabled: set PIXMILL_STOREFRONT_SECRET")
    body = await request.body()
    problem = verify(secret.encode(), body, request.headers.get(SIGNATURE_HEADER), ctx.settings.storefront_tolerance_s)
    if problem:
        raise Problem(401, "Unauthorized", problem)
    try:
        event = OrderEventIn.model_validate(loads(body))
    except (ValueError, ValidationError) as exc:
        detail = str(exc) if isinstance(exc, ValidationError) else f"the body is not valid JSON: {exc}"
        raise Problem(422, "Invalid event", detail) from None
    duplicate, state, versions = await run_in_threadpool(service.handle_event, ctx, event)
    for version in versions:
        await run_in_threadpool(submit_render, ctx, runner, event.order.id, version)
    return EventResult(event_id=event.id, order_id=event.order.id, duplicate=duplicate, state=state)


_ORDER_RESPONSES: dict[int | str, dict[str, object]] = {**AUTH_RESPONSES, 404: {"description": "No such order"}}
_ACTION_RESPONSES: dict[int | str, dict[str, object]] = {
    **_ORDER_RESPONSES,
    409: {"description": "Not allowed in the order's state"},
    422: {"description": "Bad canvas settings or palette version"},
}


@router.get(
    "/storefront/orders",
    dependencies=[Staff],
    summary="Recent orders with previews and quality reports",
    responses=AUTH_RESPONSES,
)
def list_orders(
    ctx: Ctx,
    base: BaseUrl,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
    state: str | None = None,
) -> list[OrderRead]:
    return [order_read(ctx, o, r, base) for o, r in service.recent_orders(ctx, limit, offset, state)]


@router.get(
    "/storefront/orders/{order_id}",
    dependencies=[Staff],
    summary="One order with every render version",
    responses=_ORDER_RESPONSES,
)
def get_order(ctx: Ctx, base: BaseUrl, order_id: str) -> OrderRead:
    order, renders = service.get_order(ctx, order_id)
    return order_read(ctx, order, renders, base)


def _act(runner: RunnerPort, ctx: Context, base: str, order_id: str, action: str, **kwargs: object) -> OrderRead:
    _, version = service.staff_action(ctx, order_id, action, **kwargs)  # type: ignore[arg-type]
    if version is not None:
        submit_render(ctx, runner, order_id, version)
    order, renders = service.get_order(ctx, order_id)
    return order_read(ctx, order, renders, base)


@router.post(
    "/storefront/orders/{order_id}/approve",
    dependencies=[Staff],
    summary="Approve for print",
    responses=_ACTION_RESPONSES,
)
def approve(runner: Runner, ctx: Ctx, base: BaseUrl, order_id: str) -> OrderRead:
    return _act(runner, ctx, base, order_id, "approve")


@router.post(
    "/storefront/orders/{order_id}/reject",
    dependencies=[Staff],
    summary="Reject with a reason",
    responses=_ACTION_RESPONSES,
)
def reject(runner: Runner, ctx: Ctx, base: BaseUrl, order_id: str, body: RejectBody) -> OrderRead:
    return _act(runner, ctx, base, order_id, "reject", reason=body.reason)


@router.post(
    "/storefront/orders/{order_id}/rerender",
    dependencies=[Staff],
    summary="Render a new version",
    responses=_ACTION_RESPONSES,
)
def rerender(runner: Runner, ctx: Ctx, base: BaseUrl, order_id: str, body: RerenderBody) -> OrderRead:
    canvas = None
    if body.canvas is not None:
        try:
            canvas = CanvasSettings.model_validate(body.canvas).model_dump(mode="json")
        except ValidationError as exc:
            raise Problem(422, "Invalid canvas settings", str(exc)) from None
    return _act(runner, ctx, base, order_id, "rerender", canvas=canvas, palette_version=body.palette_version)


@router.post(
    "/storefront/orders/{order_id}/fulfil",
    dependencies=[Staff],
    summary="Mark as fulfilled (shipped)",
    responses=_ACTION_RESPONSES,
)
def fulfil(runner: Runner, ctx: Ctx, base: BaseUrl, order_id: str) -> OrderRead:
    return _act(runner, ctx, base, order_id, "fulfil")


@router.get(
    "/storefront/orders/{order_id}/guide",
    dependencies=[Staff],
    summary="A line item's PDF guide, in colour or black and white (symbols only)",
    response_class=Response,
    responses={
        **AUTH_RESPONSES,
        200: {"content": {"application/pdf": {}}, "description": "The guide"},
        404: {"description": "No such order, or no such line item at that version"},
        409: {"description": "The line item did not render"},
        503: {"description": "Storage unreachable, or its worker process stopped (killed, out of memory): try again"},
    },
)
async def item_guide(
    ctx: Ctx,
    runner: Runner,
    order_id: str,
    item: Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Line item, from 0.")] = 0,
    version: Annotated[
        int | None, Query(ge=1, le=MAX_DB_INT, description="Render version; the order's current one if left out.")
    ] = None,
    colour: Annotated[bool, Query(description="false: the black-and-white guide, symbols only.")] = True,
    paper: Literal["A4", "Letter", "A3"] = "A4",
) -> Response:
    order, renders = await run_in_threadpool(service.get_order, ctx, order_id)
    wanted = version or order.version
    render = next((r for r in renders if r.version == wanted and r.item_index == item), None)
    if render is None:
        raise Problem(404, "Line item not found", f"order {order_id!r} has no line item {item} at version {wanted}")
    if render.status != "COMPLETED" or not render.plan_key:
        reason = render.error or render.status.lower()
        raise Problem(409, "Not rendered", f"line item {item} of version {wanted} did not render: {reason}")
    payload = {"plan_key": render.plan_key, "paper": paper, "colour": colour}
    pdf = await asyncio.wrap_future(runner.call(ORDER_GUIDE, payload))
    name = f"{order_id}-v{wanted}-{item}{'' if colour else '-bw'}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
