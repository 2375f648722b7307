"""Typed dependencies for routes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request

from pixmill.context import Context
from pixmill.tokens import tokens_equal
from pixmill.worker.port import JobRunner


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _runner(request: Request) -> JobRunner:
    runner: JobRunner = request.app.state.runner
    return runner


def base_url(request: Request) -> str:
    """The URL prefix clients reached us on, for the links we hand out."""
    return str(request.base_url).rstrip("/")


Ctx = Annotated[Context, Depends(_ctx)]
Runner = Annotated[JobRunner, Depends(_runner)]
BaseUrl = Annotated[str, Depends(base_url)]


def _staff(request: Request, x_api_key: Annotated[str | None, Header(alias="X-API-Key")] = None) -> None:
    from pixmill.api.problems import Problem

    expected = request.app.state.ctx.settings.staff_api_key
    if not expected:
        raise Problem(403, "Forbidden", "staff routes are disabled: set PIXMILL_STAFF_API_KEY")
    if not x_api_key or not tokens_equal(expected, x_api_key):
        raise Problem(401, "Unauthorized", "a valid X-API-Key header is required")


Staff = Depends(_staff)
# What a route behind `Staff` may answer for it, for its OpenAPI `responses`.
STAFF_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid X-API-Key"},
    403: {"description": "Staff routes are disabled (PIXMILL_STAFF_API_KEY is unset)"},
}
