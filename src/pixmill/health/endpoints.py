"""Health routes: /api/livez (the process answers), /api/readyz (the database answers), /api/health (all)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from pixmill.api.deps import Ctx, Runner
from pixmill.context import Context

router = APIRouter(prefix="/api", tags=["health"])
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


@router.get("/readyz", summary="Ready to serve: the database answers", responses={503: {"description": "Not ready"}})
def readyz(ctx: Ctx) -> JSONResponse:
    db = _status(_database, ctx)
    return JSONResponse(
        {"status": "ready" if db == "ok" else "not ready", "database": db}, status_code=200 if db == "ok" else 503
    )


@router.get(
    "/health", summary="Deep check of every dependency", responses={503: {"description": "A dependency is down"}}
)
def health(ctx: Ctx, runner: Runner) -> JSONResponse:
    deps = {
        "database": _status(_database, ctx),
        "storage": _status(ctx.storage.check),
        "job_runner": _status(runner.check),
    }
    healthy = all(v == "ok" for v in deps.values())
    return JSONResponse(
        {"status": "healthy" if healthy else "unhealthy", "dependencies": deps}, status_code=200 if healthy else 503
    )
