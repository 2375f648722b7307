"""Turn uploaded bytes into assets: sniff and check by content, store under an id-derived key."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

from pixmill.adapters.storage.keys import upload_key
from pixmill.assets import repository
from pixmill.context import Context
from pixmill.db.models import Asset
from pixmill.errors import PixmillError
from pixmill.identity.principal import Principal
from pixmill.imaging.decode import probe_file
from pixmill.imaging.errors import ImagingError

_CHUNK = 1024 * 1024

log = logging.getLogger("pixmill.assets")


class UploadRejected(PixmillError):
    """One file of an upload was refused; `error` says why, `filename` which."""

    def __init__(self, filename: str, error: ImagingError) -> None:
        super().__init__(f"{filename}: {error.message}")
        self.filename = filename
        self.error = self.core_error = error

    def extra(self) -> dict[str, Any]:
        return {"filename": self.filename}


def clean_filename(name: str | None) -> str:
    """The client's file name, kept for display only (never for storage keys)."""
    name = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "upload"
    return name[:255]


def prepare_asset(ctx: Context, filename: str | None, data: bytes, owner_id: str | None = None) -> Asset:
    """Check one file by its content and store it; the Asset row is returned unsaved."""
    return prepare_asset_file(ctx, filename, io.BytesIO(data), owner_id)


def prepare_asset_file(ctx: Context, filename: str | None, fh: BinaryIO, owner_id: str | None = None) -> Asset:
    """`prepare_asset` for a seekable file (an upload spooled by the server): checked, hashed and stored in
    chunks, so a large upload is never held whole in memory."""
    name = clean_filename(filename)
    try:
        info = probe_file(fh, ctx.settings.limits)
    except ImagingError as exc:
        raise UploadRejected(name, exc) from exc
    digest = hashlib.sha256()
    size = 0
    while chunk := fh.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    asset_id = uuid.uuid4().hex
    key = upload_key(asset_id)
    ctx.storage.put_file(key, fh, "application/octet-stream")
    now = datetime.now(UTC)
    return Asset(
        id=asset_id,
        filename=name,
        format=info.format,
        width=info.width,
        height=info.height,
        bytes=size,
        sha256=digest.hexdigest(),
        storage_key=key,
        owner_id=owner_id,
        created_at=now,
        expires_at=now + timedelta(hours=ctx.settings.retention_hours),
    )


def discard(ctx: Context, assets: list[Asset]) -> None:
    """Remove the stored files of assets that will not be recorded, as far as the store lets us.

    Called while another error is on its way to the client (often the store itself being down): a file that cannot
    be removed is logged and left to the bucket's lifecycle rules, and never hides that error.
    """
    for asset in assets:
        try:
            ctx.storage.delete_prefix(asset.storage_key)
        except Exception as exc:
            log.warning("unrecorded upload not removed", extra={"key": asset.storage_key, "error": repr(exc)})


def save_assets(ctx: Context, assets: list[Asset]) -> list[Asset]:
    with ctx.session() as s:
        repository.add_all(s, assets)
        s.commit()
    return assets


def get_asset(ctx: Context, asset_id: str) -> Asset | None:
    with ctx.session() as s:
        return repository.get(s, asset_id)


class AssetNotFound(PixmillError, LookupError):
    status, title = 404, "Asset not found"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"no asset has the id {self.args[0]!r}"


class AssetInUse(PixmillError):
    status, title = 409, "Asset in use"


def delete_asset(ctx: Context, asset_id: str, principal: Principal) -> None:
    """Delete an asset the caller may reach, with its stored file; one a job or an order still needs is a 409."""
    with ctx.session() as s:
        asset = repository.get(s, asset_id)
        if asset is None or not principal.reaches(asset.owner_id):
            raise AssetNotFound(asset_id)
        if (user := repository.in_use(s, asset_id)) is not None:
            raise AssetInUse(f"asset {asset_id} cannot be deleted: {user}")
        key = asset.storage_key
        repository.delete(s, asset)
        s.commit()
    ctx.storage.delete_prefix(key)  # the asset's one object, as the expiry deletes it
