"""The FastAPI application: wiring of settings, adapters, routes and background upkeep."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from pixmill import __version__
from pixmill.accounts.endpoints import router as accounts_router
from pixmill.admin.endpoints import router as admin_router
from pixmill.api import docs, openapi, problems
from pixmill.api.deps import anonymous_gate
from pixmill.api.files import router as files_router
from pixmill.api.health import router as health_router
from pixmill.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from pixmill.api.prometheus import router as metrics_router
from pixmill.assets.endpoints import router as assets_router
from pixmill.compat.endpoints import router as compat_router
from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.session import upgrade
from pixmill.jobs.endpoints import router as jobs_router
from pixmill.logs import configure_logging
from pixmill.metrics.scrape import Reading
from pixmill.palettes.endpoints import router as palettes_router
from pixmill.render.endpoints import router as render_router
from pixmill.sso.endpoints import router as sso_router
from pixmill.storefront.endpoints import router as storefront_router
from pixmill.storefront.tasks import resume_renders
from pixmill.worker.pools import LocalPools
from pixmill.worker.port import Runner
from pixmill.worker.registry import EXPIRE
from pixmill.worker.runner import build_runner

log = logging.getLogger("pixmill")


async def _upkeep(ctx: Context, runner: Runner) -> None:
    """The embedded runner's periodic expiry: the same task `pixmill beat` sends the Celery workers."""
    while True:
        try:
            await asyncio.wrap_future(runner.call(EXPIRE, {}))  # waited for: sweeps never pile up in the queue
        except Exception:
            log.exception("expiry sweep failed")
        await asyncio.sleep(ctx.settings.cleanup_interval_s)


async def _render_sweep(ctx: Context, runner: Runner) -> None:
    while True:
        await asyncio.sleep(ctx.settings.render_sweep_s)
        try:
            await run_in_threadpool(resume_renders, ctx, runner)
        except Exception:
            log.exception("order render sweep failed")


def _freeze_startup_heap() -> None:
    """Move what startup built (modules, routes, models, the schema: some 180,000 objects) out of the cyclic
    collector's reach. Otherwise every full collection walks all of it: a pause of 70-100 ms on these machines that
    stops every request at once, the API's p99 under load (bench/busy_submit.py). Frozen objects are still freed by
    reference counting; no collection first, which would cost as much as the pauses it saves (startup's cyclic
    garbage stays frozen until shutdown)."""
    gc.freeze()


def warn_of_retired_settings(environ: dict[str, str] | None = None) -> None:
    """Log, at start, settings pixmill no longer reads that the environment still sets."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get("PIXMILL_STAFF_API_KEY"):
        log.warning(
            "PIXMILL_STAFF_API_KEY is set but ignored: staff routes now need an account with the staff role. "
            "Migrate with `pixmill users create --email shop@example.org --role staff`, then "
            "`pixmill api-keys create --email shop@example.org --name shop --scopes orders,palettes`, and send that "
            "key (X-API-Key or Authorization: Bearer) instead"
        )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from the environment)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_json)
        warn_of_retired_settings()
        ctx = Context.from_settings(settings)
        await run_in_threadpool(upgrade, ctx.engine)
        relay = ctx.events.worker_relay()  # embedded events: the pools' job events reach this process's subscribers
        # Synchronous renders and previews run on these pools with either runner; so does all background work with
        # the embedded one (processes start lazily).
        pools = LocalPools(settings, relay=relay)
        runner = build_runner(ctx, pools)
        await run_in_threadpool(runner.start)
        app.state.ctx, app.state.runner = ctx, runner
        # What GET /metrics reads at each scrape, beside the recorded samples: the pools, and the broker's queues
        readings = [Reading("pools", pools.gauges)]
        queue_gauges = getattr(runner, "queue_gauges", None)  # the celery runner's
        if queue_gauges is not None:
            readings.append(Reading("broker", queue_gauges))
        app.state.metrics_readings = readings
        # Queues the renders left PENDING or held by a dead process; resets nothing another process holds.
        await run_in_threadpool(lambda: resume_renders(ctx, runner, startup=True))
        # With the celery runner, `pixmill beat` sends the expiry task to the workers: one sweeper, not one per API.
        upkeep = asyncio.create_task(_upkeep(ctx, runner)) if settings.runner != "celery" else None
        # Every API process, with either runner: queue the order renders whose event came while the runner was
        # unavailable, and take over those whose claim outlived its lease (a holder that died on another host).
        sweep = asyncio.create_task(_render_sweep(ctx, runner))
        log.info("pixmill started", extra={"database": ctx.engine.url.render_as_string(), "workers": settings.workers})
        _freeze_startup_heap()
        try:
            yield
        finally:
            gc.unfreeze()  # what startup made becomes collectable again once the app stops
            for task in (upkeep, sweep):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await run_in_threadpool(runner.stop)  # and its pools
            ctx.close()

    app = FastAPI(
        title="pixmill",
        version=__version__,
        summary="Image pipelines, paint-by-dots canvases and ML enhancement.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves them, with their assets, so they work offline
        redoc_url=None,
        # PIXMILL_ANONYMOUS=off: every /api route but health, sign-in and shop events needs a principal
        dependencies=[Depends(anonymous_gate)],
    )
    problems.install(app)
    openapi.install(app)
    docs.install(app)
    for router in (
        assets_router,
        jobs_router,
        compat_router,
        render_router,
        palettes_router,
        storefront_router,
        health_router,
        files_router,
        admin_router,
        sso_router,
        accounts_router,
        metrics_router,
    ):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        page = resources.files("pixmill.web").joinpath("static/index.html").read_text()
        return HTMLResponse(page)

    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes, read_timeout_s=settings.body_timeout_s)
    app.add_middleware(RequestIdMiddleware)
    return app
