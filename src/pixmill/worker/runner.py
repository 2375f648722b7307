"""The job-runner port and its embedded adapter, which runs jobs on the shared worker pool."""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from pixmill.context import Context
from pixmill.jobs import repository
from pixmill.jobs.execute import execute_job, fail_job, release_interrupted
from pixmill.jobs.service import discard_job, notify, queue_for
from pixmill.workers import PoolStopped, WorkerDied, WorkerPool, stop_pools

log = logging.getLogger("pixmill.runner")


class RunnerUnavailable(RuntimeError):
    """The runner cannot take jobs now (the broker is unreachable, say); the API answers 503."""


class JobRunner(Protocol):
    def start(self) -> None:
        """Begin serving and pick up every job left unfinished."""

    def submit(self, job_id: str, queue: str = "standard") -> None:
        """Queue a PENDING job on `queue` (standard, or ml for jobs with model inference).

        Raises RunnerUnavailable when the job could not be queued."""

    def check(self) -> None:
        """Raise if jobs cannot run now."""

    def stop(self) -> None: ...


class InProcessRunner:
    """Jobs run on the API process's worker pools: standard work on one, model inference on its own
    smaller pool so it never starves standard work. Webhook deliveries, which wait on the network,
    run on a few threads of the API process."""

    def __init__(self, ctx: Context, pool: WorkerPool, ml_pool: WorkerPool) -> None:
        self.ctx = ctx
        self.pools = {"standard": pool, "ml": ml_pool}
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pixmill-webhook")

    def start(self) -> None:
        for pool in self.pools.values():
            pool.start()
        with self.ctx.session() as s:
            active = repository.active(s)
            undelivered = repository.undelivered_webhook_ids(s)
        if active:
            log.info("resuming unfinished jobs", extra={"count": len(active)})
        for job_id, pipeline in active:
            self.submit(job_id, queue_for(pipeline))
        for job_id in undelivered:
            self._io.submit(notify, self.ctx, job_id)

    def submit(self, job_id: str, queue: str = "standard") -> None:
        future = self.pools[queue].submit(execute_job, job_id)
        future.add_done_callback(lambda f: self._done(job_id, queue, f))

    def _done(self, job_id: str, queue: str, future: Future[str]) -> None:
        if future.cancelled():  # stopped before it ran: still PENDING, the next start resumes it
            return
        exc = future.exception()
        if isinstance(exc, WorkerDied):
            # The job counted an attempt when it started; execute_job gives up once it has died MAX_ATTEMPTS times.
            log.warning(
                "worker process died running the job, running it again", extra={"job": job_id, "error": str(exc)}
            )
            with contextlib.suppress(RuntimeError):  # the pool is stopping: still PROCESSING, the next start resumes it
                self.submit(job_id, queue)
            return
        if isinstance(exc, PoolStopped):  # the shutdown's grace period ran out: not the job's fault
            try:
                release_interrupted(self.ctx, job_id)
            except Exception:
                log.exception("could not put the interrupted job back", extra={"job": job_id})
            return
        if exc is not None:
            log.error("job failed outside its pipeline", extra={"job": job_id, "error": repr(exc)})
            try:
                fail_job(self.ctx, job_id, f"the worker could not run this job ({type(exc).__name__})")
            except Exception:
                log.exception("could not mark the job failed", extra={"job": job_id})
        with contextlib.suppress(RuntimeError):  # shutting down: the next start delivers it
            self._io.submit(notify, self.ctx, job_id)

    def check(self) -> None:
        for pool in self.pools.values():
            pool.check()

    def stop(self) -> None:
        stop_pools(self.pools.values())  # running jobs finish within the grace period; queued ones stay PENDING
        self._io.shutdown(wait=True, cancel_futures=True)


def build_runner(ctx: Context, pool: WorkerPool, ml_pool: WorkerPool) -> JobRunner:
    """The runner the settings choose (with celery, the pools serve only renders and previews)."""
    if ctx.settings.runner == "celery":
        from pixmill.worker.celery_runner import CeleryRunner

        return CeleryRunner(ctx)
    return InProcessRunner(ctx, pool, ml_pool)


def submit_new(ctx: Context, runner: JobRunner, job_id: str, queue: str, idempotency_key: str | None = None) -> None:
    """Queue a job just created; if it cannot be queued, delete it, release its idempotency key and re-raise.

    A request answered 503 leaves nothing behind: no job stays PENDING forever, and a retry with the same
    Idempotency-Key creates the job anew. Assets uploaded with the request stay until they expire.
    """
    try:
        runner.submit(job_id, queue)
    except RunnerUnavailable:
        log.warning("job not queued, deleted", extra={"job": job_id})
        discard_job(ctx, job_id, idempotency_key)
        raise
