"""Palette routes: import a CSV (staff), list palettes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from pixmill.api.deps import AUTH_RESPONSES, Ctx, require_scope
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.db.models import MAX_DB_INT
from pixmill.palettes import service
from pixmill.palettes.schemas import PaletteDetail, PaletteRead

router = APIRouter(prefix="/api/v1/palettes", tags=["palettes"], route_class=BoundedJsonRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=[require_scope("palettes")],
    summary="Import a palette CSV (code,name,r,g,b) as the next version of its name",
    responses={
        400: {"description": "The multipart body cannot be read"},
        **AUTH_RESPONSES,
        413: {"description": "The CSV is over 5 MB"},
        422: {"description": "Bad rows, listed with their line numbers"},
    },
)
def import_palette(
    ctx: Ctx,
    name: Annotated[str, Form(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    file: Annotated[UploadFile, File(description="CSV with header code,name,r,g,b")],
) -> PaletteRead:
    raw = file.file.read(5_000_001)
    if len(raw) > 5_000_000:
        raise Problem(413, "File too large", "a palette CSV may be at most 5 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Problem(422, "Invalid palette", "the palette CSV is not UTF-8 text") from None
    row = service.import_csv(ctx, name, text)
    return PaletteRead(name=row.name, version=row.version, colors=len(row.colors))


@router.get("", summary="Every palette version")
def list_palettes(ctx: Ctx) -> list[PaletteRead]:
    return [PaletteRead(name=p.name, version=p.version, colors=len(p.colors)) for p in service.list_palettes(ctx)]


@router.get(
    "/{name}",
    summary="The latest version of a palette (or the version asked for)",
    responses={404: {"description": "No such palette"}},
)
def get_palette(
    ctx: Ctx, name: str, version: Annotated[int | None, Query(ge=1, le=MAX_DB_INT)] = None
) -> PaletteDetail:
    palette = service.load(ctx, name, version)
    entries = [{"code": c.code, "name": c.name, "rgb": list(c.rgb)} for c in palette.colors]
    return PaletteDetail(name=palette.name, version=palette.version, colors=len(entries), entries=entries)
