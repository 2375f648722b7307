"""Background work of the jobs domain: running a job, and queueing a job just created."""

from __future__ import annotations

import logging

from pixmill.context import Context
from pixmill.jobs.execute import execute_job
from pixmill.jobs.service import discard_job
from pixmill.worker.port import Runner, RunnerUnavailable
from pixmill.worker.registry import RUN_JOB, register

log = logging.getLogger("pixmill.runner")

register(RUN_JOB, execute_job, rerun_if_process_dies=True)


def submit_new(ctx: Context, runner: Runner, job_id: str, queue: str, idempotency_key: str | None = None) -> None:
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
