"""The embedded runner, which runs background work on the API process's pools, and the choice of runner.

The port is in `worker.port`; the Celery runner in `worker.celery_runner`, imported only when chosen.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pixmill.context import Context
from pixmill.jobs import repository
from pixmill.jobs.execute import fail_job, release_interrupted
from pixmill.jobs.service import notify, queue_for
from pixmill.worker import registry
from pixmill.worker.pools import LocalPools
from pixmill.worker.port import JobRunner, Runner, RunnerUnavailable
from pixmill.worker.processes import PoolStopped, WorkerDied

__all__ = ["InProcessRunner", "JobRunner", "Runner", "RunnerUnavailable", "build_runner"]

log = logging.getLogger("pixmill.runner")


class InProcessRunner:
    """Tasks run on the API process's worker pools: standard work on one, model inference on its own smaller pool
    so it never starves standard work. Webhook deliveries, which wait on the network, run on a few threads of the
    API process."""

    def __init__(self, ctx: Context, pools: LocalPools) -> None:
        self.ctx = ctx
        self.local = pools
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pixmill-webhook")

    def start(self) -> None:
        self.local.start()
        with self.ctx.session() as s:
            active = repository.active(s)
            undelivered = repository.undelivered_webhook_ids(s)
        if active:
            log.info("resuming unfinished jobs", extra={"count": len(active)})
        for job_id, pipeline in active:
            self.submit(job_id, queue_for(pipeline))
        for job_id in undelivered:
            self._io.submit(notify, self.ctx, job_id)

    def enqueue(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> None:
        name = registry.get(task).name
        if name == registry.RUN_JOB:
            self.submit(str(payload["job_id"]), queue or "standard")
            return
        try:
            future = self.local.submit(name, payload, queue)
        except RuntimeError as exc:  # the pools are stopping
            raise RunnerUnavailable(f"the worker pools are stopped ({exc})") from exc
        future.add_done_callback(lambda f: self._task_done(name, payload, queue, f))

    def call(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> Future[Any]:
        return self.local.submit(task, payload, queue)

    def _task_done(self, name: str, payload: Mapping[str, Any], queue: str | None, future: Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if isinstance(exc, WorkerDied) and registry.get(name).rerun_if_process_dies:
            log.warning("worker process died running the task, running it again", extra={"task": name})
            with contextlib.suppress(RunnerUnavailable):  # stopping: the next start resumes it
                self.enqueue(name, payload, queue)
            return
        if exc is not None:  # a task owns its outcome (a render records its failure); this is what escaped it
            log.error("background task failed", extra={"task": name, "error": repr(exc)})

    def submit(self, job_id: str, queue: str = "standard") -> None:
        future = self.local.submit(registry.RUN_JOB, {"job_id": job_id}, queue)
        future.add_done_callback(lambda f: self._done(job_id, queue, f))

    def _done(self, job_id: str, queue: str, future: Future[str]) -> None:
        if future.cancelled():  # stopped before it ran: still PENDING, the next start resumes it
            return
        exc = future.exception()
        if isinstance(exc, WorkerDied):
            # The job counted an attempt when it started; execute_job gives up at retry.MAX_ATTEMPTS.
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
        self.local.check()

    def stop(self) -> None:
        self.local.stop()  # running jobs finish within the grace period; queued ones stay PENDING
        self._io.shutdown(wait=True, cancel_futures=True)


def build_runner(ctx: Context, pools: LocalPools) -> Runner:
    """The runner the settings choose; with celery, the pools serve only the synchronous renders (`call`)."""
    if ctx.settings.runner == "celery":
        from pixmill.worker.celery_runner import CeleryRunner

        return CeleryRunner(ctx, pools)
    return InProcessRunner(ctx, pools)
