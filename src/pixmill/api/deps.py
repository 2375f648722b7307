"""Typed dependencies for routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pixmill.context import Context
from pixmill.jobs.runner import JobRunner


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
