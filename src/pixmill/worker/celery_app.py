"""The Celery app of the distributed runner: RabbitMQ queues `standard` and `ml`, dead-lettering, the registered tasks.

Messages are acknowledged after the job ran (acks late) and one at a time (prefetch 1), so a worker that dies
mid-job gives its message back to RabbitMQ and another worker (or the restarted one) runs it again;
`execute_job` is idempotent for final jobs and caps attempts, so a redelivery never runs a job twice to
completion.

Failures, and where each one ends:
- a passing error (database or storage unreachable; the one policy is `worker.retry`): the job goes back to PENDING
  and the task is retried with capped exponential backoff and jitter (PIXMILL_JOB_RETRY_BACKOFF_S doubling up to
  PIXMILL_JOB_RETRY_BACKOFF_MAX_S, PIXMILL_JOB_RETRIES times; by default at least 95 s in all, so a job outlives a
  60 s outage); past the last retry the job is FAILED with the reason and its message rejected, so it is
  dead-lettered;
- bad input or a bad pipeline: FAILED at once by `execute_job`, never retried;
- the time limit: the pipeline stops itself at PIXMILL_JOB_TIMEOUT_S between steps; a step that runs on meets the
  soft limit (FAILED from inside the task), one that does not return the hard limit (the pool process is killed
  and the worker's main process marks the job FAILED and delivers its webhook);
- a message a worker rejects (undecodable, invalid, unknown task, given up) is dead-lettered by RabbitMQ to the
  exchange `pixmill.dlx` and kept in the queue `pixmill.dead` (see `pixmill dlq`); when it names a job, the
  worker marks that job FAILED with the reason as it rejects the message. Nothing else dead-letters: the work
  queues have no TTL, length or delivery limit.
Every other registered task (`worker.registry`: order renders, expiry …) is a thin shell around `registry.invoke`, the
function the in-process pools call; `pixmill.expire` deletes expired data, `pixmill beat` sends it every
PIXMILL_CLEANUP_INTERVAL_S.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, Task
from celery.exceptions import Reject, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.worker.consumer import Consumer
from kombu import Connection, Exchange, Queue

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.metrics.instruments import TASK_FAILURES, TASK_RETRIES
from pixmill.worker import registry
from pixmill.worker.registry import EXPIRE, QUEUES, RUN_JOB
from pixmill.worker.retry import is_transient, retry_delay, time_limits

log = logging.getLogger("pixmill.celery")

JOBS_EXCHANGE = "pixmill.jobs"
DLX = "pixmill.dlx"
DEAD_QUEUE = "pixmill.dead"

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
    """Celery acks (drops) a message it cannot decode; reject it instead, so RabbitMQ dead-letters it.

    The job a rejected message names (headers `task` and `id`) is marked FAILED: its message will never run it.
    """

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        log.error(
            "undecodable message dead-lettered",
            extra={"error": repr(exc), "content_type": message.content_type, "headers": repr(message.headers)},
        )
        message.reject_log_error(log, self.connection_errors, requeue=False)
        self._fail_job_of(message, f"undecodable: {type(exc).__name__}")

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        super().on_invalid_task(body, message, exc)  # rejected: dead-lettered
        self._fail_job_of(message, f"invalid: {exc}")

    def _fail_job_of(self, message: Any, why: str) -> None:
        headers = message.headers or {}
        task = headers.get("task")
        TASK_FAILURES.labels(task if task in {t.name for t in registry.all_tasks()} else "unknown", "dead_letter").inc()
        job_id = headers.get("id")
        if headers.get("task") != RUN_JOB or not isinstance(job_id, str):
            return
        reason = f"its queue message was dead-lettered ({why}); `pixmill dlq list` shows it"[:500]
        try:
            fail_and_notify(self.app.pixmill_settings, job_id, reason, background=True)
        except Exception:
            log.exception("the job of a dead-lettered message was not marked failed", extra={"job": job_id})


_contexts: dict[str, Context] = {}
_contexts_lock = threading.Lock()


def worker_context(settings: Settings) -> Context:
    """This process's Context, built on first use (in a pool process: after the fork)."""
    key = settings.model_dump_json()
    with _contexts_lock:
        if key not in _contexts:
            _contexts[key] = Context.from_settings(settings)
        return _contexts[key]


def warm_worker_context(settings: Settings) -> None:
    """Build this pool process's Context before its first job, so that no job's time limit pays for it."""
    try:
        worker_context(settings)
    except Exception as exc:  # the database or the storage is down: the first job builds it, or retries
        log.warning("worker context not ready yet", extra={"error": repr(exc)})


def _forget_contexts_in_child() -> None:
    # The worker's main process has a Context once it failed a job (hard time limit, dead letter); a pool process
    # forked after that must open its own connections, never use the parent's.
    global _contexts_lock
    _contexts_lock = threading.Lock()
    for ctx in _contexts.values():
        ctx.engine.dispose(close=False)
    _contexts.clear()


os.register_at_fork(after_in_child=_forget_contexts_in_child)


def _stops_the_job_here(exc: Exception) -> bool:
    """Errors execute_job leaves to the task: retried (transient) or failed with the time limit's message."""
    return isinstance(exc, SoftTimeLimitExceeded) or is_transient(exc)


def _notify(ctx: Context, job_id: str) -> None:
    from pixmill.jobs.service import notify

    try:
        notify(ctx, job_id)
    except Exception:
        log.exception("webhook delivery failed", extra={"job": job_id})


def fail_and_notify(settings: Settings, job_id: str, message: str, background: bool = False) -> None:
    """Mark a job still PENDING or PROCESSING as FAILED with `message`, then deliver its webhook.

    background: deliver on a thread of its own (the worker's main process must not wait on the network).
    """
    from pixmill.jobs.execute import fail_job

    try:
        ctx = worker_context(settings)
    except Exception as exc:  # the storage is down, say: the database alone records the failure
        log.error("no context to fail the job: database only", extra={"job": job_id, "error": repr(exc)})
        _fail_in_database(settings, job_id, message)
        return
    if not fail_job(ctx, job_id, message):
        return
    log.error("job failed", extra={"job": job_id, "error": message})
    if background:
        threading.Thread(target=_notify, args=(ctx, job_id), name="pixmill-webhook", daemon=True).start()
    else:
        _notify(ctx, job_id)


def _fail_in_database(settings: Settings, job_id: str, message: str) -> None:
    from pixmill.db.session import make_engine, make_sessionmaker
    from pixmill.jobs import repository

    engine = make_engine(settings.resolved_database_url)
    try:
        with make_sessionmaker(engine)() as s:
            repository.mark_failed(s, job_id, message, unfinished_only=True)
    finally:
        engine.dispose()


class JobTask(Task):
    """The task class of `pixmill.run_job`: a failure the task body did not handle still fails the job."""

    pixmill_settings: Settings

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        job_id = str(args[0]) if args else str(kwargs.get("job_id", task_id))
        settings = self.pixmill_settings
        if isinstance(exc, TimeLimitExceeded):  # in the main process: the pool process running it was killed
            _, hard = time_limits(settings.job_timeout_s)
            message = (
                f"the job ran past its time limit ({settings.job_timeout_s:g} s) and its worker process was "
                f"killed after {hard:g} s"
            )
            TASK_FAILURES.labels(RUN_JOB, "time_limit").inc()
            fail_and_notify(settings, job_id, message, background=True)
        elif not isinstance(exc, Reject):
            TASK_FAILURES.labels(RUN_JOB, "error").inc()
            message = f"internal error in the worker ({type(exc).__name__}); the job was not completed"
            fail_and_notify(settings, job_id, message)


def make_celery(settings: Settings) -> Celery:
    """The Celery app for `settings`: `pixmill.run_job` with its retries, a shell for every other registered task."""
    app = Celery("pixmill", broker=settings.broker_url, set_as_current=False)
    app.pixmill_settings = settings
    soft_limit, hard_limit = time_limits(settings.job_timeout_s)
    app.conf.update(
        task_queues=[work_queue(q) for q in QUEUES],
        task_default_queue="standard",
        task_default_exchange=JOBS_EXCHANGE,
        task_default_routing_key="standard",
        task_create_missing_queues=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=soft_limit,
        task_time_limit=hard_limit,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options={"confirm_publish": True},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3.0,
        worker_consumer="pixmill.worker.celery_app:DeadLetteringConsumer",
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # `pixmill beat`: expiry every cleanup interval; a message no worker took within the interval is dropped
        # (the next one does the same work). In memory: a restarted beat waits one interval, nothing is stored.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule={
            "expire": {
                "task": EXPIRE,
                "schedule": settings.cleanup_interval_s,
                "options": {"queue": "standard", "expires": settings.cleanup_interval_s},
            }
        },
    )

    @app.task(
        name=RUN_JOB, bind=True, base=JobTask, pixmill_settings=settings, max_retries=settings.job_retries, shared=False
    )
    def run_job(self: Any, job_id: str) -> str:
        from pixmill.jobs.execute import release_job

        ctx: Context | None = None
        try:
            ctx = worker_context(settings)
            status: str = registry.get(RUN_JOB).fn(ctx, job_id=job_id, raise_if=_stops_the_job_here)
            _notify(ctx, job_id)
            return status
        except SoftTimeLimitExceeded:
            message = f"the job ran past its time limit ({settings.job_timeout_s:g} s) and was stopped"
            TASK_FAILURES.labels(RUN_JOB, "time_limit").inc()
            fail_and_notify(settings, job_id, message)
            return "FAILED"
        except Exception as exc:
            if not is_transient(exc):
                raise
            retries = self.request.retries
            reason = f"{type(exc).__name__}: {exc}"
            if retries >= self.max_retries:
                message = f"gave up after {retries + 1} tries on a passing error: {reason}"[:500]
                TASK_FAILURES.labels(RUN_JOB, "gave_up").inc()
                fail_and_notify(settings, job_id, message)
                raise Reject(message, requeue=False) from exc  # dead-lettered: `pixmill dlq requeue` retries it
            countdown = retry_delay(settings, retries)
            log.warning("transient error, retrying", extra={"job": job_id, "error": reason, "in_s": countdown})
            if ctx is not None:
                try:
                    release_job(ctx, job_id, f"retry {retries + 1} in {countdown:g} s after {reason}"[:500])
                except Exception as release_error:  # the database is the one down: the job stays PROCESSING
                    log.warning("job not released", extra={"job": job_id, "error": repr(release_error)})
            TASK_RETRIES.labels(RUN_JOB).inc()
            raise self.retry(exc=exc, countdown=countdown) from exc

    for spec in registry.all_tasks():
        if spec.name != RUN_JOB:
            _register_shell(app, settings, spec.name)
    return app


def _register_shell(app: Celery, settings: Settings, name: str) -> None:
    @app.task(name=name, bind=True, shared=False)
    def shell(self: Any, **payload: Any) -> Any:
        # The broker redelivers a message whose worker died or lost its connection (acks late): the task may then
        # take over the work that worker had claimed (see storefront.tasks.render_order).
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        with registry.delivery(redelivered):
            return registry.invoke(worker_context(settings), name, payload)


def run_job_task(app: Celery) -> Any:
    return app.tasks[RUN_JOB]
