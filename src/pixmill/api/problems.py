"""Every error becomes an RFC 7807 problem JSON with a message that says what was wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pixmill.adapters.idempotency import IdempotencyKeyReused, IdempotencyUnavailable
from pixmill.adapters.storage import StorageUnavailable
from pixmill.assets.service import UploadRejected
from pixmill.canvas.types import CanvasError
from pixmill.compat.shape import is_pixtools_path, public_job_id
from pixmill.imaging import errors as imaging
from pixmill.jobs.service import IdempotencyInProgress, JobNotFound, UnknownAsset
from pixmill.palettes.service import PaletteNotFound
from pixmill.storefront.service import InvalidTransition, OrderNotFound
from pixmill.webhooks.service import InvalidWebhookUrl
from pixmill.worker.port import RunnerUnavailable
from pixmill.workers import PoolStopped, WorkerDied

log = logging.getLogger("pixmill.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
STORAGE_RETRY_AFTER_S = 10  # an object store restart takes seconds; clients should not hammer it meanwhile


class Problem(Exception):
    """An HTTP problem raised by a route: status, short title, detail for the user."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def problem_response(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _respond(request: Request, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem, or on the PixTools routes FastAPI's default error shape: application/json {"detail": "…"}
    (PixTools' web page reads only `detail`, and only from a body typed application/json)."""
    if is_pixtools_path(request.url.path):
        return JSONResponse({"detail": detail}, status_code=status)
    return problem_response(status, title, detail, **extra)


# The core's error types, each mapped once to an HTTP status and title.
IMAGING_STATUS: dict[type[imaging.ImagingError], tuple[int, str]] = {
    imaging.ImageTooLarge: (413, "Image too large"),
    imaging.UnsupportedFormat: (415, "Unsupported image format"),
    imaging.CorruptImage: (422, "Corrupt image"),
    imaging.InvalidPipeline: (422, "Invalid pipeline"),
    imaging.OperationUnavailable: (422, "Operation unavailable"),
    imaging.DeadlineExceeded: (422, "Deadline exceeded"),
}


def imaging_problem(exc: imaging.ImagingError) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        if cls in IMAGING_STATUS:
            return IMAGING_STATUS[cls]
    return 422, "Unprocessable image"


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into problems."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return _respond(request, exc.status, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(imaging.ImagingError)
    async def _imaging(request: Request, exc: imaging.ImagingError) -> JSONResponse:
        status, title = imaging_problem(exc)
        extra = {"errors": exc.errors} if isinstance(exc, imaging.InvalidPipeline) else {}
        return _respond(request, status, title, exc.message, **extra)

    @app.exception_handler(UploadRejected)
    async def _upload(request: Request, exc: UploadRejected) -> JSONResponse:
        status, title = imaging_problem(exc.error)
        return _respond(request, status, title, f"{exc.filename}: {exc.error.message}", filename=exc.filename)

    @app.exception_handler(JobNotFound)
    async def _job(request: Request, exc: JobNotFound) -> JSONResponse:
        return _respond(request, 404, "Job not found", f"no job has the id {exc.args[0]!r}")

    @app.exception_handler(RunnerUnavailable)
    async def _runner(request: Request, exc: RunnerUnavailable) -> JSONResponse:
        response = _respond(request, 503, "Job runner unavailable", f"{exc}; nothing was queued, try again later")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(StorageUnavailable)
    async def _storage(request: Request, exc: StorageUnavailable) -> JSONResponse:
        log.error("object store unreachable", extra={"error": str(exc)})
        response = _respond(request, 503, "Storage unavailable", f"{exc}; nothing was stored, try again later")
        response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER_S)
        return response

    @app.exception_handler(IdempotencyInProgress)
    async def _in_progress(request: Request, exc: IdempotencyInProgress) -> JSONResponse:
        detail = f"a request with the Idempotency-Key {exc.args[0]!r} is still being handled; retry shortly"
        response = _respond(request, 409, "Request in progress", detail)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(IdempotencyKeyReused)
    async def _reused(request: Request, exc: IdempotencyKeyReused) -> JSONResponse:
        job = public_job_id(exc.job_id) if is_pixtools_path(request.url.path) else exc.job_id
        detail = (
            f"the Idempotency-Key {exc.key!r} was already used with a different request (job {job}); "
            "send a new key for a new request"
        )
        return _respond(request, 422, "Idempotency-Key reused", detail)

    @app.exception_handler(IdempotencyUnavailable)
    async def _idempotency(request: Request, exc: IdempotencyUnavailable) -> JSONResponse:
        response = _respond(request, 503, "Idempotency store unavailable", f"{exc}; nothing was stored, try again")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(WorkerDied)
    @app.exception_handler(PoolStopped)
    async def _worker(request: Request, exc: Exception) -> JSONResponse:
        # The pool has already replaced the process (or is shutting down); the same request can simply be sent again.
        detail = f"the worker process answering this request stopped ({exc}); nothing was kept, try again"
        response = _respond(request, 503, "Worker stopped", detail)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(UnknownAsset)
    async def _asset(request: Request, exc: UnknownAsset) -> JSONResponse:
        return _respond(request, 422, "Unknown asset", str(exc))

    @app.exception_handler(InvalidWebhookUrl)
    async def _webhook(request: Request, exc: InvalidWebhookUrl) -> JSONResponse:
        return _respond(request, 422, "Invalid webhook URL", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "the request is not valid"
        return _respond(request, 422, "Invalid request", detail, errors=errors)

    @app.exception_handler(CanvasError)
    async def _canvas(request: Request, exc: CanvasError) -> JSONResponse:
        return _respond(request, 422, "Invalid canvas input", exc.message, errors=exc.errors)

    @app.exception_handler(PaletteNotFound)
    async def _palette(request: Request, exc: PaletteNotFound) -> JSONResponse:
        return _respond(request, 404, "Palette not found", str(exc))

    @app.exception_handler(OrderNotFound)
    async def _order(request: Request, exc: OrderNotFound) -> JSONResponse:
        return _respond(request, 404, "Order not found", f"no order has the id {exc.args[0]!r}")

    @app.exception_handler(InvalidTransition)
    async def _transition(request: Request, exc: InvalidTransition) -> JSONResponse:
        return _respond(request, 409, "Not allowed in this state", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _respond(request, exc.status_code, _title(exc.status_code), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _respond(request, 500, "Internal error", "pixmill failed on this request; it has been logged")


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", ""))
    reason = (error.get("ctx") or {}).get("error")
    return f"{message}: {reason}" if error.get("type") == "json_invalid" and reason else message


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
