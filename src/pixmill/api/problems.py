"""Every error becomes an RFC 7807 problem JSON with a message that says what was wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pixmill.canvas.types import CanvasError
from pixmill.errors import PixmillError
from pixmill.imaging import errors as imaging
from pixmill.pixtools import is_pixtools_path, public_job_id

log = logging.getLogger("pixmill.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(PixmillError):
    """An HTTP problem raised by a route: status, short title, detail for the user."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self._extra = status, title, extra

    def extra(self) -> dict[str, Any]:
        return self._extra


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

    @app.exception_handler(PixmillError)
    async def _pixmill(request: Request, exc: PixmillError) -> JSONResponse:
        if exc.log_message:
            log.error(exc.log_message, extra={"error": str(exc)})
        pixtools = is_pixtools_path(request.url.path)
        status, title = imaging_problem(exc.core_error) if exc.core_error else (exc.status, exc.title)
        # PixTools clients know a job by its dashed id; everyone else by the stored one.
        detail = exc.detail(public_job_id if pixtools else str)
        response = _respond(request, status, title, detail, **exc.extra())
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(imaging.ImagingError)
    async def _imaging(request: Request, exc: imaging.ImagingError) -> JSONResponse:
        status, title = imaging_problem(exc)
        extra = {"errors": exc.errors} if isinstance(exc, imaging.InvalidPipeline) else {}
        return _respond(request, status, title, exc.message, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "the request is not valid"
        return _respond(request, 422, "Invalid request", detail, errors=errors)

    @app.exception_handler(CanvasError)
    async def _canvas(request: Request, exc: CanvasError) -> JSONResponse:
        return _respond(request, 422, "Invalid canvas input", exc.message, errors=exc.errors)

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
