"""The metrics pixmill records, all named `pixmill_…` and all with labels (so multiprocess mode, switched on after
this module may have been imported, still applies: a labelled metric makes its values on first use).

Labels stay few and bounded: HTTP routes are route templates, operations come from the catalogue, statuses and
outcomes are fixed words. The README's "Metrics" section lists them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram

_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

HTTP_REQUEST_SECONDS = Histogram(
    "pixmill_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route template and status.",
    ["method", "route", "status"],
)
JOBS = Counter(
    "pixmill_jobs", "Jobs that reached a final status, by status and first operation.", ["status", "operation"]
)
JOB_ATTEMPTS = Counter(
    "pixmill_job_attempts", "Job runs started: the first, or a repeat (a retry, or a resume after a crash).", ["kind"]
)
JOB_PROCESSING_SECONDS = Histogram(
    "pixmill_job_processing_seconds",
    "Time a worker spent running a job's pipeline, by final status and first operation.",
    ["status", "operation"],
    buckets=_SLOW,
)
JOB_QUEUE_WAIT_SECONDS = Histogram(
    "pixmill_job_queue_wait_seconds",
    "Time from a job's creation to its first start, by first operation.",
    ["operation"],
    buckets=_SLOW,
)
JOB_END_TO_END_SECONDS = Histogram(
    "pixmill_job_end_to_end_seconds",
    "Time from a job's creation to its final status, by final status and first operation.",
    ["status", "operation"],
    buckets=_SLOW,
)
TASK_RETRIES = Counter("pixmill_task_retries", "Retries the Celery runner scheduled, by task.", ["task"])
TASK_FAILURES = Counter(
    "pixmill_task_failures",
    "Background tasks that failed outside their own error handling, by task and reason "
    "(time_limit, gave_up, worker_died, dead_letter, error).",
    ["task", "reason"],
)
RENDER_SECONDS = Histogram(
    "pixmill_render_seconds", "Time a worker spent on a render URL's pipeline (cache misses), by queue.", ["queue"]
)
RENDER_CACHE = Counter("pixmill_render_cache", "Render URL requests by cache result (hit or miss).", ["result"])
WEBHOOK_DELIVERIES = Counter(
    "pixmill_webhook_deliveries",
    "Webhook deliveries by outcome (delivered; refused: answered other than 2xx; failed: no answer; circuit_open; "
    "invalid).",
    ["outcome"],
)
WEBHOOK_CIRCUIT_TRANSITIONS = Counter(
    "pixmill_webhook_circuit_transitions", "Webhook circuit-breaker state changes, by new state.", ["state"]
)


def operation_of(pipeline: Any) -> str:
    """A job's first operation, from its stored pipeline (`{"nodes": [{"op": …}, …]}`); "unknown" otherwise."""
    try:
        op = pipeline["nodes"][0]["op"]
    except (KeyError, IndexError, TypeError):
        return "unknown"
    return op[:64] if isinstance(op, str) and op else "unknown"


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from `start` to `end` (naive datetimes are UTC, as the database may give them); None if either is."""
    if start is None or end is None:
        return None
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    end = end if end.tzinfo else end.replace(tzinfo=UTC)
    return max(0.0, (end - start).total_seconds())


def job_finished(status: str, operation: str, created_at: datetime | None, finished_at: datetime | None) -> None:
    """Count a job that reached `status`, with its end-to-end time."""
    JOBS.labels(status, operation).inc()
    total = seconds_between(created_at, finished_at)
    if total is not None:
        JOB_END_TO_END_SECONDS.labels(status, operation).observe(total)
