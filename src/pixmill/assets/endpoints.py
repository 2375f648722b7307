"""Upload routes."""

from __future__ import annotations

from typing import BinaryIO

from fastapi import APIRouter, File, Response, UploadFile, status

from pixmill.api.deps import Caller, Ctx, need_scope
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.assets import service
from pixmill.assets.schemas import AssetRead, UploadResult
from pixmill.db.models import Asset
from pixmill.identity import quotas

router = APIRouter(prefix="/api/v1", tags=["uploads"], route_class=BoundedJsonRoute)


def checked_upload(ctx: Ctx, upload: UploadFile) -> BinaryIO:
    """The spooled file of one upload, at its start, refusing more than the per-file limit."""
    limit = ctx.settings.max_upload_bytes
    fh = upload.file
    size = fh.seek(0, 2)
    fh.seek(0)
    if size > limit:
        raise Problem(413, "File too large", f"{upload.filename}: the file is over the limit of {limit} bytes")
    return fh


def ingest(ctx: Ctx, uploads: list[UploadFile], owner_id: str | None) -> list[Asset]:
    """Check and store every file, owned by `owner_id` (None: anonymous); if one is refused, none is kept."""
    if len(uploads) > ctx.settings.max_files_per_upload:
        raise Problem(
            413, "Too many files", f"{len(uploads)} files; at most {ctx.settings.max_files_per_upload} per upload"
        )
    assets: list[Asset] = []
    try:
        for upload in uploads:
            assets.append(service.prepare_asset_file(ctx, upload.filename, checked_upload(ctx, upload), owner_id))
    except BaseException:
        service.discard(ctx, assets)
        raise
    return assets


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    summary="Upload one or many images",
    responses={
        400: {"description": "The multipart body cannot be read"},
        403: {"description": "The API key lacks the 'assets' scope"},
        413: {"description": "A file or the image inside it is too large, too many files, or over the storage quota"},
        415: {"description": "A file is not an image of a supported format"},
        422: {"description": "No files, or a file that is a corrupt image"},
        503: {"description": "The object store is unreachable (Retry-After); nothing was stored"},
    },
)
def upload(
    ctx: Ctx, caller: Caller, files: list[UploadFile] = File(description="One or more image files.")
) -> UploadResult:
    need_scope(caller, "assets")
    quotas.check_storage(ctx, caller, sum(f.size or 0 for f in files))
    assets = service.save_assets(ctx, ingest(ctx, files, caller.owner_id))
    return UploadResult(assets=[AssetRead.model_validate(a) for a in assets])


@router.get(
    "/uploads/{asset_id}",
    summary="One uploaded asset (anonymous ones by id; a user's only to its owner and admins)",
    responses={404: {"description": "No such asset (or another user's)"}},
)
def get_upload(ctx: Ctx, caller: Caller, asset_id: str) -> AssetRead:
    asset = service.get_asset(ctx, asset_id)
    if asset is None or not caller.reaches(asset.owner_id):
        raise Problem(404, "Asset not found", f"no asset has the id {asset_id!r}")
    return AssetRead.model_validate(asset)


@router.delete(
    "/uploads/{asset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an uploaded asset and its file (anonymous ones by id; a user's by its owner and admins)",
    responses={
        403: {"description": "The API key lacks the 'assets' scope"},
        404: {"description": "No such asset (or another user's)"},
        409: {"description": "A waiting or running job, or a shop order, still needs it"},
    },
)
def delete_upload(ctx: Ctx, caller: Caller, asset_id: str) -> Response:
    need_scope(caller, "assets")
    service.delete_asset(ctx, asset_id, caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
