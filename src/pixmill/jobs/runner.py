"""The job-runner port and its embedded adapter: a process pool in the API process."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.jobs import repository
from pixmill.jobs.execute import execute_job, fail_job
from pixmill.jobs.service import notify

log = logging.getLogger("pixmill.runner")


class JobRunner(Protocol):
    def start(self) -> None:
        """Begin serving and pick up every job left unfinished."""

    def submit(self, job_id: str) -> None:
        """Queue a PENDING job."""

    def check(self) -> None:
        """Raise if jobs cannot run now."""

    def stop(self) -> None: ...


_worker_ctx: Context | None = None


def _init_worker(settings_json: str) -> None:
    global _worker_ctx
    from pixmill.logs import configure_logging

    settings = Settings.model_validate_json(settings_json)
    configure_logging(settings.log_level, settings.log_json)
    _worker_ctx = Context.from_settings(settings)


def _run(job_id: str) -> str:
    assert _worker_ctx is not None, "worker not initialised"
    return execute_job(_worker_ctx, job_id)


class InProcessRunner:
    """Jobs run in a pool of `settings.workers` processes (the work is CPU-bound: processes, not threads).

    Webhook deliveries, which wait on the network, run on a few threads of the API process.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        settings = ctx.settings.model_copy(update={"secret_key": ctx.settings.signing_key.decode()})
        self._settings_json = settings.model_dump_json()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pixmill-webhook")

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.ctx.settings.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._settings_json,),
            max_tasks_per_child=500,
        )

    def start(self) -> None:
        with self._lock:
            self._pool = self._new_pool()
        with self.ctx.session() as s:
            active = repository.active_ids(s)
            undelivered = repository.undelivered_webhook_ids(s)
        if active:
            log.info("resuming unfinished jobs", extra={"count": len(active)})
        for job_id in active:
            self.submit(job_id)
        for job_id in undelivered:
            self._io.submit(notify, self.ctx, job_id)

    def submit(self, job_id: str) -> None:
        with self._lock:
            if self._pool is None:
                raise RuntimeError("the job runner is not started")
            future = self._pool.submit(_run, job_id)
        future.add_done_callback(lambda f: self._done(job_id, f))

    def _done(self, job_id: str, future: Future[str]) -> None:
        if future.cancelled():  # stopped before it ran: still PENDING, the next start resumes it
            return
        exc = future.exception()
        if exc is not None:
            if isinstance(exc, BrokenProcessPool):
                self._replace_broken_pool()
            log.error("worker process failed", extra={"job": job_id, "error": repr(exc)})
            try:
                fail_job(self.ctx, job_id, "the worker process running this job stopped unexpectedly")
            except Exception:
                log.exception("could not mark the job failed", extra={"job": job_id})
        with contextlib.suppress(RuntimeError):  # shutting down: the next start delivers it
            self._io.submit(notify, self.ctx, job_id)

    def _replace_broken_pool(self) -> None:
        with self._lock:
            if self._pool is not None and getattr(self._pool, "_broken", False):
                self._pool.shutdown(wait=False, cancel_futures=False)
                self._pool = self._new_pool()

    def check(self) -> None:
        with self._lock:
            pool = self._pool
        if pool is None:
            raise RuntimeError("the job runner is not started")
        # A busy pool is healthy: look at the processes rather than queue a probe behind real work.
        if getattr(pool, "_broken", False):
            raise RuntimeError("the worker pool is broken")
        processes = getattr(pool, "_processes", None) or {}
        dead = [p.pid for p in processes.values() if not p.is_alive()]
        if dead:
            raise RuntimeError(f"worker processes {dead} have died")

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._io.shutdown(wait=True, cancel_futures=True)


def build_runner(ctx: Context) -> JobRunner:
    """The runner the settings choose."""
    return InProcessRunner(ctx)
