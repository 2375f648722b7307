"""Health routes: /api/livez (the process answers), /api/readyz (the database answers), /api/health (all).

/api/health names each dependency as deployed: `database`; `s3` or `storage` (local files); `rabbitmq` (the
broker of the celery runner) or `job_runner` (the in-process worker pools); and `redis` when it is configured.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from pixmill.api.deps import Ctx, Runner
from pixmill.api.routing import BoundedJsonRoute
from pixmill.context import Context

router = APIRouter(prefix="/api", tags=["health"], route_class=BoundedJsonRoute)
log = logging.getLogger("pixmill.health")


def _database(ctx: Context) -> None:
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _status(check: object, *args: object) -> str:
    try:
        check(*args)  # type: ignore[operator]
    except Exception as exc:
        log.warning("health check failed", extra={"check": getattr(check, "__name__", "?"), "error": str(exc)})
        return "unreachable"
    return "ok"


@router.get("/livez", summary="The process is up")
def livez() -> dict[str, str]:
    return {"status": "ok"}


_STATUS_SCHEMA = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}


@router.get(
    "/readyz",
    summary="Ready to serve: the database answers",
    responses={
        200: {"content": {"application/json": {"schema": _STATUS_SCHEMA}}},
        503: {"description": "Not ready", "content": {"application/json": {"schema": _STATUS_SCHEMA}}},
    },
)
def readyz(ctx: Ctx) -> JSONResponse:
    db = _status(_database, ctx)
    return JSONResponse(
        {"status": "ready" if db == "ok" else "not ready", "database": db}, status_code=200 if db == "ok" else 503
    )


@router.get(
    "/health",
    summary="Deep check of every dependency",
    responses={
        200: {"content": {"application/json": {"schema": _STATUS_SCHEMA}}},
        503: {"description": "A dependency is down", "content": {"application/json": {"schema": _STATUS_SCHEMA}}},
    },
)
def health(ctx: Ctx, runner: Runner) -> JSONResponse:
    settings = ctx.settings
    deps = {
        "database": _status(_database, ctx),
        "s3" if settings.storage == "s3" else "storage": _status(ctx.storage.check),
        "rabbitmq" if settings.runner == "celery" else "job_runner": _status(runner.check),
    }
    if ctx.redis is not None:
        deps["redis"] = _status(ctx.redis.ping)
    healthy = all(v == "ok" for v in deps.values())
    return JSONResponse(
        {"status": "healthy" if healthy else "unhealthy", "dependencies": deps}, status_code=200 if healthy else 503
    )
