"""The Celery app of the distributed runner: RabbitMQ queues `standard` and `ml`, dead-lettering, one task.

Messages are acknowledged after the job ran (acks late) and one at a time (prefetch 1), so a worker that dies
mid-job gives its message back to RabbitMQ and another worker (or the restarted one) runs it again;
`execute_job` is idempotent for final jobs and caps attempts, so a redelivery never runs a job twice to
completion. Messages a worker rejects (undecodable, unknown task, invalid) are dead-lettered by RabbitMQ
to the exchange `pixmill.dlx` and kept in the queue `pixmill.dead` (see `pixmill dlq`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.worker.consumer import Consumer
from kombu import Connection, Exchange, Queue

from pixmill.config import Settings
from pixmill.context import Context

log = logging.getLogger("pixmill.celery")

QUEUES = ("standard", "ml")
JOBS_EXCHANGE = "pixmill.jobs"
DLX = "pixmill.dlx"
DEAD_QUEUE = "pixmill.dead"
TIME_LIMIT_MARGIN_S = 60.0

jobs_exchange = Exchange(JOBS_EXCHANGE, type="direct", durable=True)
dead_exchange = Exchange(DLX, type="fanout", durable=True)
dead_queue = Queue(DEAD_QUEUE, dead_exchange, routing_key="", durable=True)


def work_queue(name: str) -> Queue:
    return Queue(name, jobs_exchange, routing_key=name, durable=True, queue_arguments={"x-dead-letter-exchange": DLX})


def declare_topology(conn: Connection) -> None:
    """Declare what Celery does not: the dead-letter exchange and queue (and the work queues with them)."""
    channel = conn.default_channel
    dead_exchange.declare(channel=channel)
    jobs_exchange.declare(channel=channel)
    for queue in (dead_queue, *(work_queue(q) for q in QUEUES)):
        queue.declare(channel=channel)


class DeadLetteringConsumer(Consumer):
    """Celery acks (drops) a message it cannot decode; reject it instead, so RabbitMQ dead-letters it."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        log.error(
            "undecodable message dead-lettered",
            extra={"error": repr(exc), "content_type": message.content_type, "headers": repr(message.headers)},
        )
        message.reject_log_error(log, self.connection_errors, requeue=False)


_contexts: dict[str, Context] = {}
_contexts_lock = threading.Lock()


def worker_context(settings: Settings) -> Context:
    """This worker process's Context, built on first use (after the prefork pool forked)."""
    key = settings.model_dump_json()
    with _contexts_lock:
        if key not in _contexts:
            _contexts[key] = Context.from_settings(settings)
        return _contexts[key]


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth a retry: the database or the storage was unreachable for a moment."""
    from sqlalchemy.exc import OperationalError

    return (OperationalError, OSError)


def make_celery(settings: Settings) -> Celery:
    """The Celery app for `settings`, with the task `pixmill.run_job` registered."""
    app = Celery("pixmill", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_queues=[work_queue(q) for q in QUEUES],
        task_default_queue="standard",
        task_default_exchange=JOBS_EXCHANGE,
        task_default_routing_key="standard",
        task_create_missing_queues=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.job_timeout_s + TIME_LIMIT_MARGIN_S,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3.0,
        worker_consumer="pixmill.jobs.celery_app:DeadLetteringConsumer",
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )

    @app.task(name="pixmill.run_job", bind=True, max_retries=settings.job_retries, shared=False)
    def run_job(self: Any, job_id: str) -> str:
        from pixmill.jobs.execute import execute_job, fail_job
        from pixmill.jobs.service import notify

        ctx = worker_context(settings)
        try:
            status = execute_job(ctx, job_id)
            notify(ctx, job_id)
            return status
        except transient_errors() as exc:
            retries = self.request.retries
            if retries >= self.max_retries:
                log.error("job gave up on a transient error", extra={"job": job_id, "error": repr(exc)})
                fail_job(ctx, job_id, f"gave up after {retries + 1} tries: {type(exc).__name__}: {exc}"[:500])
                notify(ctx, job_id)
                return "FAILED"
            countdown = settings.job_retry_backoff_s * (2**retries)
            log.warning("transient error, retrying", extra={"job": job_id, "error": repr(exc), "in_s": countdown})
            raise self.retry(exc=exc, countdown=countdown) from exc

    return app


def run_job_task(app: Celery) -> Any:
    return app.tasks["pixmill.run_job"]
