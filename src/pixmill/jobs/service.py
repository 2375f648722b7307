"""Job use cases: create (validated, idempotent), read with fresh signed URLs, notify by webhook."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from pixmill.context import Context
from pixmill.db.models import Asset, IdempotencyKey, Job, JobOutput
from pixmill.imaging.pipeline import Pipeline
from pixmill.jobs import repository, states
from pixmill.jobs.execute import download_name
from pixmill.webhooks.service import check_webhook_url, deliver

log = logging.getLogger("pixmill.jobs")


class JobNotFound(LookupError):
    """No job has that id."""


class UnknownAsset(LookupError):
    """An input asset id does not exist (or has expired)."""


def queue_for(pipeline: Pipeline | dict[str, Any]) -> str:
    """The queue a job goes to: `ml` when any node runs a model, else `standard`."""
    if isinstance(pipeline, dict):
        from pixmill.imaging.pipeline import parse_pipeline

        pipeline = parse_pipeline(pipeline)
    return "ml" if "ml" in pipeline.queues else "standard"


def new_id() -> str:
    return uuid.uuid4().hex


def find_idempotent(session: Session, key: str) -> str | None:
    """The job id stored under an unexpired idempotency key, or None."""
    row = session.get(IdempotencyKey, key)
    if row is None:
        return None
    if row.expires_at <= datetime.now(UTC):
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key))
        session.commit()
        return None
    return row.job_id


def create_job(
    ctx: Context,
    *,
    pipeline: Pipeline,
    input_ids: list[str],
    base_url: str,
    request_id: str | None,
    webhook_url: str | None = None,
    idempotency_key: str | None = None,
    api: str = "v1",
    operations: list[str] | None = None,
    new_assets: list[Asset] | None = None,
) -> tuple[Job, bool]:
    """Record a PENDING job (and any assets uploaded with it) in one transaction.

    Returns (job, created); with an idempotency key already used, the earlier job and created=False,
    and nothing of this request is kept.
    """
    if webhook_url:
        check_webhook_url(webhook_url, ctx.settings.webhook_allow_private)
    now = datetime.now(UTC)
    expires = now + timedelta(hours=ctx.settings.retention_hours)
    with ctx.session() as s:
        if idempotency_key and (earlier := find_idempotent(s, idempotency_key)):
            return _load(s, earlier), False
        new_ids = {a.id for a in new_assets or []}
        wanted = list(dict.fromkeys(input_ids + pipeline.asset_ids))
        known = set(s.scalars(select(Asset.id).where(Asset.id.in_(set(wanted) - new_ids))))
        missing = [i for i in wanted if i not in known and i not in new_ids]
        if missing:
            raise UnknownAsset(f"unknown or expired asset id(s): {', '.join(missing)}")
        job = Job(
            id=new_id(),
            status=states.PENDING,
            api=api,
            pipeline=pipeline.to_json(),
            operations=operations,
            input_ids=input_ids,
            webhook_url=webhook_url,
            base_url=base_url,
            request_id=request_id,
            steps=[],
            attempts=0,
            created_at=now,
            expires_at=expires,
        )
        s.add_all(new_assets or [])
        s.add(job)
        if idempotency_key:
            s.add(IdempotencyKey(key=idempotency_key, job_id=job.id, created_at=now, expires_at=expires))
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            if idempotency_key and (earlier := find_idempotent(s, idempotency_key)):
                return _load(s, earlier), False
            raise
        return _load(s, job.id), True


def _load(session: Session, job_id: str) -> Job:
    job = repository.get(session, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def get_job(ctx: Context, job_id: str) -> Job:
    with ctx.session() as s:
        return _load(s, job_id)


def discard_job(ctx: Context, job_id: str) -> None:
    """Delete a job that was never queued, with its idempotency key (its input assets stay until they expire)."""
    with ctx.session() as s:
        s.execute(delete(IdempotencyKey).where(IdempotencyKey.job_id == job_id))
        s.execute(delete(Job).where(Job.id == job_id))
        s.commit()


def list_jobs(ctx: Context, limit: int, offset: int) -> tuple[list[Job], int]:
    with ctx.session() as s:
        rows, total = repository.page(s, limit, offset)
        return list(rows), total


def output_url(ctx: Context, job: Job, output: JobOutput, base_url: str | None = None) -> str:
    """A signed URL for one output, valid until the job's data expires; made anew on every call."""
    multiple = len(job.input_ids) > 1
    return ctx.storage.signed_url(
        output.storage_key, job.expires_at, base_url or job.base_url, download_name(output, multiple)
    )


def result_urls(ctx: Context, job: Job, base_url: str | None = None) -> dict[str, str]:
    """Output name → signed URL (names get '-<input>' when the job has several inputs)."""
    multiple = len(job.input_ids) > 1
    return {
        (f"{o.name}-{o.input_index}" if multiple else o.name): output_url(ctx, job, o, base_url) for o in job.outputs
    }


def archive_url(ctx: Context, job: Job, base_url: str | None = None) -> str | None:
    if not job.archive_key:
        return None
    return ctx.storage.signed_url(job.archive_key, job.expires_at, base_url or job.base_url, f"{job.id}.zip")


def webhook_payload(ctx: Context, job: Job) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "status": job.status,
        "result_urls": result_urls(ctx, job),
        "error_message": job.error,
    }


def notify(ctx: Context, job_id: str) -> None:
    """Deliver the final status to the job's webhook once; a failed delivery marks the job."""
    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None or not job.webhook_url or job.webhook_status != states.WEBHOOK_PENDING:
            return
        url, payload = job.webhook_url, webhook_payload(ctx, job)
    settings = ctx.settings
    ok = deliver(
        url,
        payload,
        secret=settings.signing_key,
        attempts=settings.webhook_attempts,
        backoff_s=settings.webhook_backoff_s,
        timeout_s=settings.webhook_timeout_s,
        allow_private=settings.webhook_allow_private,
    )
    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None:
            return
        job.webhook_status = states.WEBHOOK_DELIVERED if ok else states.WEBHOOK_FAILED
        if not ok and job.status == states.COMPLETED:
            job.status = states.COMPLETED_WEBHOOK_FAILED
        s.commit()


def expire(ctx: Context) -> int:
    """Delete jobs and assets past their retention, with their files. Returns how many rows went."""
    now = datetime.now(UTC)
    removed = 0
    with ctx.session() as s:
        for job in repository.expired(s, now):
            ctx.storage.delete_prefix(f"results/{job.id}")
            if job.archive_key:
                ctx.storage.delete_prefix(job.archive_key)
            s.delete(job)
            removed += 1
        for asset in s.scalars(select(Asset).where(Asset.expires_at < now)):
            ctx.storage.delete_prefix(asset.storage_key)
            s.delete(asset)
            removed += 1
        s.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
        s.commit()
    removed += ctx.storage.delete_older_than("render-cache", now - timedelta(hours=ctx.settings.retention_hours))
    if removed:
        log.info("expired old data", extra={"rows": removed})
    return removed
