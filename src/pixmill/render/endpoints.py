"""GET /render/…: what storefront previews and <img> tags use."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pixmill.api.deps import AUTH_RESPONSES, BaseUrl, Caller, Ctx, Runner, signed_in
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.assets.service import get_asset
from pixmill.canvas.types import Palettes
from pixmill.palettes.service import resolve as resolve_palettes
from pixmill.render import service
from pixmill.render.service import Rendered
from pixmill.worker.registry import RENDER

router = APIRouter(tags=["render"], route_class=BoundedJsonRoute)


@router.get(
    "/render/{signature}/{path:path}",
    summary="Render a pipeline given in the URL (signed), cached by content",
    responses={
        200: {"content": {"image/*": {}}, "description": "The rendered image"},
        304: {"description": "Not modified (If-None-Match)"},
        403: {"description": "Bad signature (or not made for this asset's owner)"},
        404: {"description": "No such asset or palette"},
        413: {"description": "The image, or what the pipeline would make of it, is over the limits"},
        422: {"description": "The path is not a valid pipeline, or it fails on this image"},
        503: {"description": "Storage unreachable, or its worker process stopped (killed, out of memory): try again"},
    },
)
async def render(
    ctx: Ctx,
    runner: Runner,
    signature: str,
    path: str,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    unsafe = signature == service.UNSAFE
    if unsafe and not ctx.settings.render_allow_unsigned:
        raise Problem(403, "Forbidden", "unsigned render URLs are disabled; sign the path")
    asset_id = path.rstrip("/").rsplit("/", 1)[-1]
    asset = await run_in_threadpool(get_asset, ctx, asset_id)
    # The signature names the asset's owner: checked against the asset as stored (a missing asset's URL must have
    # been signed as anonymous, so an unsigned caller learns nothing of which ids exist).
    owner = asset.owner_id if asset is not None else None
    if not unsafe and not service.verify_path(ctx.settings.signing_key, signature, path, owner):
        raise Problem(403, "Forbidden", "the render URL signature does not match its path")
    req = service.parse_render_path(path)
    if asset is None or (unsafe and owner is not None):  # an unsigned URL reaches anonymous assets only
        raise Problem(404, "Asset not found", f"no asset has the id {req.asset_id!r}")
    palettes = await run_in_threadpool(resolve_palettes, ctx, req.pipeline.names_needed(Palettes))
    key = service.cache_key(asset.sha256, req.pipeline, {name: p.version for name, p in palettes.items()})
    etag = f'"{key[:40]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={ctx.settings.render_cache_max_age_s}"}
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    hit: Rendered | None = await run_in_threadpool(service.cached, ctx, key)
    if hit is None:
        queue = "ml" if "ml" in req.pipeline.queues else "standard"
        payload = {"storage_key": asset.storage_key, "spec": req.spec, "key": key}
        rendered: Rendered = await asyncio.wrap_future(runner.call(RENDER, payload, queue))
        hit = rendered
        headers["X-Cache"] = "miss"
    else:
        headers["X-Cache"] = "hit"
    return Response(hit.data, media_type=hit.media_type, headers=headers)


class SignRequest(BaseModel):
    path: str = Field(description="Steps and asset id, e.g. 'resize:width=800/webp:quality=80/<asset id>'.")


class SignedUrl(BaseModel):
    url: str


@router.post(
    "/api/v1/render-urls",
    summary="Sign a render path for an asset the caller may use (its own or an anonymous one)",
    tags=["render"],
    responses={
        **AUTH_RESPONSES,
        404: {"description": "No such asset (or another user's)"},
        422: {"description": "The path is not a valid pipeline"},
    },
)
def sign(ctx: Ctx, base: BaseUrl, caller: Caller, body: SignRequest) -> SignedUrl:
    signed_in(caller, "render:sign")
    path = body.path.strip("/")
    req = service.parse_render_path(path)  # refuse what would not render
    asset = get_asset(ctx, req.asset_id)
    if asset is None or not caller.reaches(asset.owner_id):
        raise Problem(404, "Asset not found", f"no asset has the id {req.asset_id!r}")
    signature = service.sign_path(ctx.settings.signing_key, path, asset.owner_id)
    return SignedUrl(url=f"{base}/render/{signature}/{path}")
