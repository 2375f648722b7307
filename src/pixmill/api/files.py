"""GET /files/{key}: serves a stored file only with a valid, unexpired signature."""

from __future__ import annotations

import mimetypes
import time
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from pixmill.adapters.storage import InvalidKey
from pixmill.adapters.storage.local import LocalStorage
from pixmill.api.deps import Ctx
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.db.models import MAX_INT64

router = APIRouter(tags=["files"], route_class=BoundedJsonRoute)

_FORBIDDEN = Problem(403, "Forbidden", "the link is invalid or has expired")


@router.get(
    "/files/{key:path}",
    summary="Download a stored file (signed link)",
    response_class=FileResponse,
    responses={
        200: {"description": "The file", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        403: {"description": "Bad or expired signature"},
        404: {"description": "The file is gone"},
    },
)
def download(
    ctx: Ctx,
    key: str,
    expires: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    signature: Annotated[str, Query(max_length=128)] = "",
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> FileResponse:
    storage = ctx.storage
    if not isinstance(storage, LocalStorage):
        raise Problem(404, "Not found", "files are served by the object store in this deployment")
    if not storage.verify(key, expires, filename, signature):
        raise _FORBIDDEN
    try:
        path = storage.path_for(key)
    except InvalidKey:
        raise _FORBIDDEN from None
    if not path.is_file():
        raise Problem(404, "Not found", "the file is no longer stored")
    media_type = mimetypes.guess_type(filename or key)[0] or "application/octet-stream"
    max_age = max(0, expires - int(time.time()))
    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        content_disposition_type="inline",
        headers={"Cache-Control": f"private, max-age={max_age}"},
    )
