"""Job use cases: create (validated, idempotent), read with fresh signed URLs, notify by webhook."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from pixmill import pixtools as shape
from pixmill.adapters.events import emit
from pixmill.adapters.idempotency import IdempotencyKeyReused
from pixmill.adapters.storage.keys import result_prefix
from pixmill.assets import repository as assets
from pixmill.assets.service import discard
from pixmill.context import Context
from pixmill.db.models import Asset, Job, JobOutput
from pixmill.errors import PixmillError
from pixmill.identity.principal import ANONYMOUS, Principal
from pixmill.imaging.pipeline import Pipeline
from pixmill.jobs import repository, snapshots, states
from pixmill.jobs.execute import download_name
from pixmill.jobs.fingerprints import fingerprint
from pixmill.webhooks.service import Delivery, check_webhook_url, deliver

log = logging.getLogger("pixmill.jobs")

# How long a request that lost the race for an Idempotency-Key waits for the winner's job to be recorded.
CLAIM_WAIT_S = 5.0
# A key is first claimed for this long; once its job is recorded it is kept for the retention period. A request
# that dies between the two (its process killed, say) holds the key no longer than this.
CLAIM_HOLD_S = 120.0


class JobNotFound(PixmillError, LookupError):
    """No job has that id."""

    status, title = 404, "Job not found"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"no job has the id {self.args[0]!r}"


class UnknownAsset(PixmillError, LookupError):
    """An input asset id does not exist, has expired, or is another user's (the caller cannot tell which)."""

    status, title = 422, "Unknown asset"


class IdempotencyInProgress(PixmillError):
    """Another request with this Idempotency-Key is still being handled (its job is not recorded yet)."""

    status, title, retry_after = 409, "Request in progress", 1

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"a request with the Idempotency-Key {self.args[0]!r} is still being handled; retry shortly"


def queue_for(pipeline: Pipeline | dict[str, Any]) -> str:
    """The queue a job goes to: `ml` when any node runs a model, else `standard`."""
    if isinstance(pipeline, dict):
        from pixmill.imaging.pipeline import parse_pipeline

        pipeline = parse_pipeline(pipeline)
    return "ml" if "ml" in pipeline.queues else "standard"


def new_id() -> str:
    return uuid.uuid4().hex


# The idempotency store's key column holds 255 characters.
_MAX_STORED_KEY = 255


def scoped_key(principal: Principal, key: str | None) -> str | None:
    """The stored form of a client's Idempotency-Key: in the caller's own namespace (its user id, or
    `anonymous`), so two callers sending the same key never get each other's job. A key too long for the store
    with its prefix is kept as its SHA-256."""
    if not key:
        return None
    scoped = f"{principal.user_id or 'anonymous'}:{key}"
    if len(scoped) > _MAX_STORED_KEY:
        scoped = f"{principal.user_id or 'anonymous'}:#{hashlib.sha256(key.encode()).hexdigest()}"
    return scoped


def claim(ctx: Context, key: str, job_id: str, fingerprint: str | None = None, shown: str | None = None) -> Job | None:
    """Claim idempotency `key` (stored form) for the job about to be recorded as `job_id`, by a request with
    `fingerprint`.

    None when this request holds the key now; else the job of the request that holds it. A loser waits up to
    CLAIM_WAIT_S for that job to be committed, claiming again if the winner failed and released the key;
    raises IdempotencyInProgress when the winner is still at work after that, and IdempotencyKeyReused at once
    when the winner asked for something else (both naming the key as the client sent it, `shown`).
    """
    try:
        return _claim(ctx, key, job_id, fingerprint, shown or key)
    except IdempotencyKeyReused as exc:
        raise IdempotencyKeyReused(shown or key, exc.job_id) from None


def _claim(ctx: Context, key: str, job_id: str, fingerprint: str | None, shown: str) -> Job | None:
    ttl_s = min(CLAIM_HOLD_S, ctx.settings.retention_hours * 3600)
    deadline = time.monotonic() + CLAIM_WAIT_S
    pause = 0.01
    while True:
        holder = ctx.idempotency.claim(key, job_id, ttl_s, fingerprint)
        if holder is None:
            return None
        with ctx.session() as s:
            job = repository.get(s, holder)
        if job is not None:
            return job
        if time.monotonic() >= deadline:
            raise IdempotencyInProgress(shown)
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


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
    upload: Callable[[], list[Asset]] | None = None,
    upload_digest: str | None = None,
    principal: Principal = ANONYMOUS,
) -> tuple[Job, bool]:
    """Record a PENDING job (and the assets uploaded with it) in one transaction, owned by `principal` (None for
    anonymous callers); its inputs must be assets `principal` may use (its own or anonymous ones).

    With an idempotency key, the key is claimed before anything is stored: a request that finds it taken by the
    same request returns the job holding it with created=False, and stores nothing; one that finds it taken by a
    different request raises IdempotencyKeyReused. `upload` stores the request's files and returns their (unsaved)
    assets, which become inputs after `input_ids`; it runs only once the key is ours; `upload_digest` identifies
    those files' content for the comparison. If the job is not recorded, the key is released and the stored files
    are removed.
    """
    if webhook_url:
        check_webhook_url(webhook_url, ctx.settings.webhook_allow_private)
    job_id = new_id()
    request = None
    shown, idempotency_key = idempotency_key, scoped_key(principal, idempotency_key)
    if idempotency_key:
        request = fingerprint(api, pipeline.to_json(), input_ids, webhook_url, operations, upload_digest)
        if (earlier := claim(ctx, idempotency_key, job_id, request, shown)) is not None:
            return earlier, False
    new_assets: list[Asset] = []
    try:
        new_assets = upload() if upload else []
        job = _record(
            ctx,
            job_id,
            pipeline=pipeline,
            input_ids=input_ids + [a.id for a in new_assets],
            base_url=base_url,
            request_id=request_id,
            webhook_url=webhook_url,
            api=api,
            operations=operations,
            new_assets=new_assets,
            principal=principal,
        )
    except BaseException:
        discard(ctx, new_assets)
        if idempotency_key:
            release(ctx, idempotency_key, job_id)
        raise
    if idempotency_key:
        try:
            ctx.idempotency.keep(idempotency_key, job_id, ctx.settings.retention_hours * 3600, request)
        except Exception as exc:  # the job stands; the key lapses after CLAIM_HOLD_S instead of the retention
            log.error("idempotency key not extended", extra={"job": job_id, "error": repr(exc)})
    return job, True


def release(ctx: Context, key: str, job_id: str) -> None:
    """Free idempotency `key` of a job that was not recorded or queued; a failure is logged (the key expires)."""
    try:
        ctx.idempotency.release(key, job_id)
    except Exception as exc:
        log.error("idempotency key not released", extra={"job": job_id, "error": repr(exc)})


def _record(
    ctx: Context,
    job_id: str,
    *,
    pipeline: Pipeline,
    input_ids: list[str],
    base_url: str,
    request_id: str | None,
    webhook_url: str | None,
    api: str,
    operations: list[str] | None,
    new_assets: list[Asset],
    principal: Principal = ANONYMOUS,
) -> Job:
    now = datetime.now(UTC)
    expires = now + timedelta(hours=ctx.settings.retention_hours)
    with ctx.session() as s:
        new_ids = {a.id for a in new_assets}
        wanted = list(dict.fromkeys(input_ids + pipeline.asset_ids))
        owners = assets.owners(s, set(wanted) - new_ids)
        known = {i for i, owner in owners.items() if principal.reaches(owner)}
        missing = [i for i in wanted if i not in known and i not in new_ids]
        if missing:
            raise UnknownAsset(f"unknown or expired asset id(s): {', '.join(missing)}")
        job = Job(
            id=job_id,
            status=states.PENDING,
            api=api,
            pipeline=pipeline.to_json(),
            operations=operations,
            input_ids=input_ids,
            webhook_url=webhook_url,
            base_url=base_url,
            request_id=request_id,
            owner_id=principal.owner_id,
            steps=[],
            attempts=0,
            created_at=now,
            expires_at=expires,
        )
        assets.add_all(s, new_assets)
        repository.add(s, job)
        s.commit()
        return _load(s, job.id)


def _load(session: Session, job_id: str) -> Job:
    job = repository.get(session, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def get_job(ctx: Context, job_id: str, principal: Principal | None = None) -> Job:
    """The job with its outputs; with `principal`, JobNotFound (as for a missing one) unless the job is theirs to
    read: anonymous jobs by their id, a user's by that user and admins."""
    with ctx.session() as s:
        job = _load(s, job_id)
    if principal is not None and not principal.reaches(job.owner_id):
        raise JobNotFound(job_id)
    return job


def read_job(ctx: Context, job_id: str, principal: Principal = ANONYMOUS) -> Job:
    """A job to show `principal` (see `get_job`): from the cache when it is settled (see `snapshots`), else from
    the database."""
    job = snapshots.recall(ctx, job_id)
    if job is None:
        job = get_job(ctx, job_id)
        snapshots.remember(ctx, job)
    if not principal.reaches(job.owner_id):
        raise JobNotFound(job_id)
    return job


def discard_job(ctx: Context, job_id: str, idempotency_key: str | None = None) -> None:
    """Delete a job that was never queued, then release its idempotency key (its input assets stay until they
    expire): the job goes first, so no request waiting on the key is handed a job about to vanish."""
    with ctx.session() as s:
        repository.delete(s, job_id)
        s.commit()
    snapshots.forget(ctx, job_id)
    if idempotency_key:
        release(ctx, idempotency_key, job_id)


def list_jobs(
    ctx: Context,
    limit: int,
    offset: int,
    owner_id: str | None = None,
    statuses: Sequence[str] = (),
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[list[Job], int]:
    """A page of jobs, newest first: `owner_id`'s only, or every job when it is None (admins); filtered by status
    and by when they were created, [from, to)."""
    with ctx.session() as s:
        rows, total = repository.page(s, limit, offset, owner_id, statuses, created_from, created_to)
        return list(rows), total


class JobBusy(PixmillError):
    """The job is running: it cannot be deleted now."""

    status, title, retry_after = 409, "Job is running", 5


class JobFinished(PixmillError):
    """The job is final already: there is nothing to cancel."""

    status, title = 409, "Job already finished"


def cancel_job(ctx: Context, job_id: str, principal: Principal) -> tuple[Job, bool]:
    """Cancel a job the caller may reach: a PENDING one at once, a PROCESSING one at its next step boundary (its
    worker stops, stores nothing more and marks it CANCELLED). Returns the job and whether it is CANCELLED now (its
    webhook, if any, is then due). Cancelling a cancelled job again changes nothing; a finished one is a 409."""
    job = get_job(ctx, job_id, principal)
    if job.status == states.CANCELLED:
        return job, False
    if job.status in states.FINAL:
        raise JobFinished(f"job {job_id} is {job.status} already: there is nothing to cancel")
    now = datetime.now(UTC)
    with ctx.session() as s:
        cancelled = repository.cancel_pending(s, job_id, "cancelled by its owner before it started", now)
        requested = cancelled or repository.request_cancel(s, job_id, now)
        s.commit()
    snapshots.forget(ctx, job_id)
    if cancelled:
        emit(ctx.events, job_id, "status", states.CANCELLED, error="cancelled by its owner before it started")
    elif not requested:  # it finished meanwhile
        job = get_job(ctx, job_id)
        if job.status != states.CANCELLED:
            raise JobFinished(f"job {job_id} is {job.status} already: there is nothing to cancel")
    return get_job(ctx, job_id), cancelled


def delete_job(ctx: Context, job_id: str, principal: Principal) -> None:
    """Delete a job the caller may reach, with its results and archive; a running one is a JobBusy (409).

    A PENDING job is deleted too: its runner then finds no job and does nothing."""
    job = get_job(ctx, job_id, principal)
    with ctx.session() as s:
        deleted = repository.delete_unless_running(s, job_id)
        s.commit()
    if not deleted:
        raise JobBusy(f"job {job_id} is running: delete it once it has finished")
    snapshots.forget(ctx, job_id)
    ctx.storage.delete_prefix(result_prefix(job_id))
    if job.archive_key:
        ctx.storage.delete_prefix(job.archive_key)


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


def pixtools_results(ctx: Context, job: Job, base_url: str | None = None) -> tuple[dict[str, str], str | None]:
    """A PixTools-shaped view of a job's results: operation → URL (image results only; '-<input>' added when a
    v1 job with several inputs is read here) and the archive URL, downloading as PixTools names its files."""
    with ctx.session() as s:
        filenames = repository.input_filenames(s, job.input_ids)
    base = base_url or job.base_url
    multiple = len(job.input_ids) > 1
    urls: dict[str, str] = {}
    for o in job.outputs:
        if not shape.is_result_file(o.media_type):
            continue
        filename = filenames.get(job.input_ids[o.input_index]) if o.input_index < len(job.input_ids) else None
        name = shape.download_name(o.name, filename, o.storage_key.rsplit(".", 1)[-1])
        urls[f"{o.name}-{o.input_index}" if multiple else o.name] = ctx.storage.signed_url(
            o.storage_key, job.expires_at, base, name
        )
    archive = None
    if job.archive_key:
        first = filenames.get(job.input_ids[0]) if job.input_ids else None
        archive = ctx.storage.signed_url(job.archive_key, job.expires_at, base, shape.archive_name(first))
    return urls, archive


def webhook_payload(ctx: Context, job: Job) -> dict[str, Any]:
    if job.api == "process":
        urls, _ = pixtools_results(ctx, job)
        return {
            "job_id": shape.public_job_id(job.id),
            "status": job.status,
            "result_urls": urls,
            "error_message": job.error,
        }
    return {
        "job_id": job.id,
        "status": job.status,
        "result_urls": result_urls(ctx, job),
        "error_message": job.error,
    }


def notify(ctx: Context, job_id: str) -> None:
    """Deliver the final status to the job's webhook once; a failed delivery marks the job, with the reason."""
    outcome = Delivery(False, "webhook not delivered: its payload could not be made")
    with ctx.session() as s:
        if not repository.webhook_pending(s, job_id):  # most jobs: one small query, nothing loaded
            return
        job = repository.get(s, job_id)
        if job is None or not job.webhook_url or job.webhook_status != states.WEBHOOK_PENDING:
            return
        url = job.webhook_url
        payload: dict[str, Any] | None = None
        try:
            payload = webhook_payload(ctx, job)
        except Exception:  # the storage cannot sign, say: the delivery still ends, as failed
            log.exception("webhook payload failed", extra={"job": job_id})
    settings = ctx.settings
    if payload is not None:
        outcome = deliver(
            url,
            payload,
            secret=settings.signing_key,
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.webhook_allow_private,
            circuits=ctx.webhook_circuits,
        )
    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None:
            return
        job.webhook_status = states.WEBHOOK_DELIVERED if outcome.delivered else states.WEBHOOK_FAILED
        if not outcome.delivered:
            log.warning("webhook failed", extra={"job": job_id, "error": outcome.reason})
            if job.status == states.COMPLETED:
                job.status = states.COMPLETED_WEBHOOK_FAILED
                job.error = outcome.reason  # a failed job keeps its own error
        s.commit()
        status, webhook_status = job.status, job.webhook_status
    snapshots.forget(ctx, job_id)
    emit(ctx.events, job_id, "webhook", status, webhook=webhook_status)


def expire_jobs(ctx: Context, now: datetime) -> int:
    """Delete jobs past their expiry with their results and archives, and lapsed idempotency keys."""
    removed = 0
    with ctx.session() as s:
        for job in repository.expired(s, now):
            snapshots.forget(ctx, job.id)
            ctx.storage.delete_prefix(result_prefix(job.id))
            if job.archive_key:
                ctx.storage.delete_prefix(job.archive_key)
            repository.remove(s, job)
            removed += 1
        repository.delete_lapsed_keys(s, now)
        s.commit()
    return removed
