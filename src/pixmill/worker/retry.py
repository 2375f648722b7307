"""The one retry policy of background work, read by both runners (the in-process pools and Celery).

What it decides, and where each rule applies:
- **Attempts** (`MAX_ATTEMPTS`): a job or an order render whose process died (killed, out of memory, a crash in native
  code) runs again, until it has started MAX_ATTEMPTS times; then it is FAILED, so a poison input cannot loop forever.
  `jobs.execute.execute_job` and `storefront.tasks.render_order` count the attempts; the in-process runner resubmits a
  job whose pool process died, Celery redelivers the message of a worker that died (acks late).
- **What is transient** (`is_transient`): the database or the storage could not be reached, or the store answered 5xx.
  Only such errors are retried; bad input or a bad pipeline fails at once.
- **Backoff** (`retry_delay`): a transient error puts the job back to PENDING and retries it after a capped, doubling,
  jittered delay, PIXMILL_JOB_RETRIES times (the Celery runner; the in-process runner fails the job at once, as its
  pools share the API's fate and a restart resumes the job).
- **Publishing** (`PUBLISH_RETRY`): how long the API tries to hand a message to the broker before answering 503.
- **Time limits and leases** (`time_limits`, `claim_lease_s`): how long a task may run, and how long a claim on an
  order render holds before another process may take it over (a holder on another host that died or hung).
"""

from __future__ import annotations

import random
from typing import Any

from pixmill.config import Settings

MAX_ATTEMPTS = 3

# kombu's publish retry: three tries within about a second and a half, so a request never hangs on a dead broker.
PUBLISH_RETRY: dict[str, Any] = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1.0}


def time_limits(job_timeout_s: float) -> tuple[float, float]:
    """(soft, hard) time limits of a task: a margin past PIXMILL_JOB_TIMEOUT_S, then as much again. Celery applies
    them to every task (soft: the task fails itself; hard: its pool process is killed)."""
    margin = min(30.0, max(1.0, job_timeout_s / 10))
    return job_timeout_s + margin, job_timeout_s + 2 * margin


def claim_lease_s(settings: Settings) -> float:
    """How long a claim on an order render holds, wherever its holder runs: past the hard time limit, plus a margin
    for a slow database. A claim older than this belongs to a process that is dead or stuck, even on another host
    that this one cannot look into, and the render may be taken over (the stuck holder can no longer record it)."""
    return time_limits(settings.job_timeout_s)[1] + 30.0


def _step(settings: Settings, retries: int) -> float:
    return min(settings.job_retry_backoff_max_s, settings.job_retry_backoff_s * 2 ** min(retries, 64))


def retry_delay(settings: Settings, retries: int, rng: random.Random | None = None) -> float:
    """Seconds before retry number `retries` + 1: "equal jitter" over a capped doubling.

    Half of min(cap, base * 2**retries) is kept and the other half drawn at random, so that jobs that failed together
    (a whole batch when the store went down) do not all come back at once, and none retries sooner than half its step.
    """
    step = _step(settings, retries)
    return round(step / 2 + (rng or random).uniform(0, step / 2), 3)


def retry_window(settings: Settings) -> tuple[float, float]:
    """(least, most) seconds a job spends waiting on its retries before it gives up on a passing error."""
    steps = [_step(settings, n) for n in range(settings.job_retries)]
    return sum(steps) / 2, sum(steps)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is worth a retry: the database or the storage could not be reached, or S3 answered 5xx.

    The storage port raises StorageUnavailable for its outages (the S3 adapter turns botocore's connection errors,
    timeouts and 5xx into it), so only the port's error is known here, never botocore's.
    An OSError counts when the operating system raised it (it has an errno: a file or a socket failed); Pillow's
    errno-less OSErrors ("encoder error") are about the data, and a retry would fail the same way.
    """
    from sqlalchemy.exc import OperationalError

    from pixmill.adapters.storage import StorageUnavailable

    if isinstance(exc, (OperationalError, StorageUnavailable)):
        return True
    return isinstance(exc, OSError) and exc.errno is not None
