"""The expiry sweep: every domain's own sweep, run once per cleanup interval as the task `pixmill.expire` (sent
by the upkeep in embedded mode, by `pixmill beat` to a Celery worker). It sits above the domains, so none of them
imports another's expiry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from pixmill.accounts.expiry import expire_sessions
from pixmill.assets.expiry import expire_uploads
from pixmill.context import Context
from pixmill.jobs.service import expire_jobs
from pixmill.render.expiry import expire_render_cache
from pixmill.storefront.expiry import expire_canvas_previews, expire_order_files
from pixmill.worker.registry import EXPIRE, register

log = logging.getLogger("pixmill.expiry")

SWEEPS: tuple[Callable[[Context, datetime], int], ...] = (
    expire_jobs,
    expire_uploads,
    expire_render_cache,
    expire_canvas_previews,
    expire_order_files,
    expire_sessions,
)


def expire(ctx: Context, now: datetime | None = None) -> int:
    """Run every domain's expiry sweep once (the one entry point of the upkeep). Returns how much went.

    Each domain deletes only what it owns, by the prefixes and retentions of storage.keys. One failing sweep
    does not stop the others; its error is raised once they ran. now: the sweep's clock (default: the time now).
    """
    now = now or datetime.now(UTC)
    removed = 0
    failure: Exception | None = None
    for sweep in SWEEPS:
        try:
            removed += sweep(ctx, now)
        except Exception as exc:
            log.exception("expiry sweep failed", extra={"sweep": sweep.__name__})
            failure = failure or exc
    if removed:
        log.info("expired old data", extra={"removed": removed})
    if failure is not None:
        raise failure
    return removed


register(EXPIRE, expire)
