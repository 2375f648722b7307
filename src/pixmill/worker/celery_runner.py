"""The distributed job runner: jobs go to RabbitMQ and run on `pixmill worker` processes (Celery)."""

from __future__ import annotations

import logging
import threading

from pixmill.context import Context
from pixmill.worker.celery_app import QUEUES, declare_topology, make_celery, run_job_task
from pixmill.worker.runner import RunnerUnavailable

log = logging.getLogger("pixmill.runner")

RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


class CeleryRunner:
    """Publishes one `pixmill.run_job` message per job, with publisher confirms, to the job's queue.

    start() recovers nothing: queued messages are durable in RabbitMQ, and a message whose worker died is
    redelivered (acks late), so unfinished jobs are the broker's to resume, not the API's.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.app = make_celery(ctx.settings)
        self._declared = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Nothing to start: the workers are separate processes, and the broker keeps the queued jobs."""

    def _declare(self) -> None:
        with self._lock:
            if self._declared:
                return
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
                declare_topology(conn)
            self._declared = True

    def submit(self, job_id: str, queue: str = "standard") -> None:
        if queue not in QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        try:
            self._declare()
            run_job_task(self.app).apply_async(
                args=(job_id,), task_id=job_id, queue=queue, retry=True, retry_policy=RETRY_POLICY
            )
        except Exception as exc:
            log.error("could not queue job", extra={"job": job_id, "queue": queue, "error": repr(exc)})
            raise RunnerUnavailable(f"the job queue (message broker) is unreachable: {type(exc).__name__}") from exc

    def check(self) -> None:
        """Raise if the broker cannot be reached."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    def stop(self) -> None:
        self.app.close()
