"""Settled jobs in the cache port: a job in a final status whose webhook is settled no longer changes until it
expires, so GET /api/v1/jobs/{id} (polled by clients) reads it from the cache instead of the database.

What is cached is the record (the job's columns and its outputs' columns, as JSON), never a response: signed URLs
are made anew on every request. Every write to a job forgets its entry as well, and the entry's TTL never passes
the job's own expiry, so the cache can only ever hold what the database holds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime
from sqlalchemy import inspect as sa_inspect

from pixmill.db.models import Job, JobOutput, UTCDateTime
from pixmill.jobs import states

if TYPE_CHECKING:
    from pixmill.context import Context

TTL_S = 300.0
_VERSION = 2  # in the key: a deployment that changes the snapshot's shape never reads an older one


def cache_key(job_id: str) -> str:
    return f"job:v{_VERSION}:{job_id}"


def settled(job: Job) -> bool:
    """Whether `job` can no longer change (until it expires): completed, and no webhook delivery pending.

    FAILED jobs are not cached: `pixmill dlq requeue` may reopen one from another process, and an in-process cache
    would not hear of it."""
    completed = job.status in (states.COMPLETED, states.COMPLETED_WEBHOOK_FAILED)
    return completed and job.webhook_status != states.WEBHOOK_PENDING


def _datetime_columns(model: type[Any]) -> frozenset[str]:
    return frozenset(
        attr.key for attr in sa_inspect(model).column_attrs if isinstance(attr.columns[0].type, UTCDateTime | DateTime)
    )


_JOB_DATETIMES = _datetime_columns(Job)
_OUTPUT_DATETIMES = _datetime_columns(JobOutput)


def _row(obj: Any, datetimes: frozenset[str]) -> dict[str, Any]:
    out = {}
    for attr in sa_inspect(type(obj)).column_attrs:
        value = getattr(obj, attr.key)
        out[attr.key] = value.isoformat() if attr.key in datetimes and value is not None else value
    return out


def _parse(row: dict[str, Any], datetimes: frozenset[str]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v) if k in datetimes and v is not None else v for k, v in row.items()}


def dump(job: Job) -> str:
    """The job and its outputs as JSON text."""
    return json.dumps(
        {"job": _row(job, _JOB_DATETIMES), "outputs": [_row(o, _OUTPUT_DATETIMES) for o in job.outputs]},
        separators=(",", ":"),
    )


def load(text: str) -> Job:
    """A detached Job (with its outputs) from `dump`'s text; it belongs to no session."""
    data = json.loads(text)
    job = Job(**_parse(data["job"], _JOB_DATETIMES))
    job.outputs = [JobOutput(**_parse(o, _OUTPUT_DATETIMES)) for o in data["outputs"]]
    return job


def remember(ctx: Context, job: Job) -> None:
    """Cache `job` if it is settled, for at most TTL_S and never past its expiry."""
    if not settled(job):
        return
    ttl = min(TTL_S, (job.expires_at - datetime.now(UTC)).total_seconds())
    ctx.cache.set(cache_key(job.id), dump(job), ttl)


def recall(ctx: Context, job_id: str) -> Job | None:
    """The cached job, or None."""
    text = ctx.cache.get(cache_key(job_id))
    if text is None:
        return None
    try:
        return load(text)
    except (ValueError, KeyError, TypeError):  # not ours, or damaged: read the database instead
        ctx.cache.delete(cache_key(job_id))
        return None


def forget(ctx: Context, job_id: str) -> None:
    """Drop the cached job: call after every write to it."""
    ctx.cache.delete(cache_key(job_id))
