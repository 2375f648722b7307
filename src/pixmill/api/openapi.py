"""The OpenAPI document: every error response a route lists is described as the body pixmill really sends.

Routes list the statuses they can answer (with a description); this module gives each error the media type and
schema of api/problems.py's handler (problem JSON, or `{"detail"}` on the PixTools routes), replaces FastAPI's
default 422 (a shape pixmill never sends), and adds the 413 of the body limit to every route that takes a body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pixmill.api.problems import PROBLEM_MEDIA_TYPE
from pixmill.pixtools import is_pixtools_path

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 7807 problem details; validation errors add `errors`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
DETAIL_SCHEMA: dict[str, Any] = {
    "title": "Detail",
    "description": "FastAPI's default error shape, which PixTools clients read.",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
_DEFAULT_422 = "#/components/schemas/HTTPValidationError"
_DESCRIPTIONS = {
    "413": "The request body is over PIXMILL_MAX_REQUEST_BYTES",
    "422": "The request is not valid (each error names its field)",
}


def error_content(path: str) -> dict[str, Any]:
    """The `content` of an error response on `path`, as api/problems.py answers there."""
    if is_pixtools_path(path):
        return {"application/json": {"schema": DETAIL_SCHEMA}}
    return {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}


def _describe_errors(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" in operation:
        responses.setdefault("413", {})
    for status, response in responses.items():
        if not status.startswith(("4", "5")):
            continue
        response.setdefault("description", _DESCRIPTIONS.get(status, "Error"))
        content = response.get("content") or {}
        default = content.get("application/json", {}).get("schema", {}).get("$ref") == _DEFAULT_422
        if not content or default:  # routes that answer their own body (health's 503) declare its content
            response["content"] = error_content(path)


def install(app: FastAPI) -> None:
    """Make `app.openapi()` describe pixmill's error responses as sent."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    _describe_errors(path, operation)
            schemas = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
