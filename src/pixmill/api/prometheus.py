"""GET /metrics: the Prometheus text format of this host's processes, for a scraper on this host or one that
sends the bearer token PIXMILL_METRICS_TOKEN. No account opens it: metrics are the operator's, not a user's."""

from __future__ import annotations

import ipaddress

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from pixmill.identity.errors import Unauthenticated
from pixmill.metrics.scrape import CONTENT_TYPE, exposition
from pixmill.tokens import tokens_equal

router = APIRouter()

_FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


class MetricsRefused(Unauthenticated):
    """The scraper is neither on this host nor carries the metrics token."""


def _from_loopback(request: Request) -> bool:
    """A direct client on this host: a reverse proxy on this host forwarding someone else's request is not one."""
    if request.client is None or any(name in _FORWARDED for name, _ in request.scope["headers"]):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def check_scraper(request: Request, token: str | None) -> None:
    """Let a scraper in, or raise MetricsRefused saying what it needs."""
    given = request.headers.get("authorization", "")
    scheme, _, credentials = given.partition(" ")
    if token:
        if scheme.lower() == "bearer" and tokens_equal(token, credentials.strip()):
            return
        raise MetricsRefused("send the metrics token (PIXMILL_METRICS_TOKEN) as `Authorization: Bearer <token>`")
    if not _from_loopback(request):
        raise MetricsRefused(
            "/metrics answers scrapers on this host only; set PIXMILL_METRICS_TOKEN on the server and send it as "
            "`Authorization: Bearer <token>` to scrape from elsewhere"
        )


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Every pixmill process of this host (API, pool workers, Celery workers sharing PIXMILL_METRICS_DIR)."""
    check_scraper(request, request.app.state.ctx.settings.metrics_token)
    readings = getattr(request.app.state, "metrics_readings", ())
    body = await run_in_threadpool(exposition, readings)
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
