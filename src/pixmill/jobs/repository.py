"""Job queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session, selectinload

from pixmill.db.models import Asset, IdempotencyKey, Job, JobOutput
from pixmill.jobs import states
from pixmill.jobs.states import ACTIVE


def add(session: Session, job: Job) -> None:
    session.add(job)


def get(session: Session, job_id: str) -> Job | None:
    return session.scalar(select(Job).where(Job.id == job_id).options(selectinload(Job.outputs)))


def get_bare(session: Session, job_id: str) -> Job | None:
    """The job without its outputs (loaded on first access): one query where the outputs are not needed."""
    return session.get(Job, job_id)


def input_filenames(session: Session, asset_ids: list[str]) -> dict[str, str]:
    """Asset id → the file name it was uploaded with (an expired asset is missing)."""
    if not asset_ids:
        return {}
    rows = session.execute(select(Asset.id, Asset.filename).where(Asset.id.in_(asset_ids)))
    return {asset_id: filename for asset_id, filename in rows}


def webhook_pending(session: Session, job_id: str) -> bool:
    """Whether the job has a webhook delivery to make: one small query, no job loaded."""
    row = session.execute(select(Job.webhook_url, Job.webhook_status).where(Job.id == job_id)).first()
    return row is not None and bool(row.webhook_url) and row.webhook_status == states.WEBHOOK_PENDING


def page(
    session: Session,
    limit: int,
    offset: int,
    owner_id: str | None = None,
    statuses: Sequence[str] = (),
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> tuple[Sequence[Job], int]:
    """Newest first; only `owner_id`'s jobs when given, in `statuses` when given, created in [from, to)."""
    conditions = []
    if owner_id is not None:
        conditions.append(Job.owner_id == owner_id)
    if statuses:
        conditions.append(Job.status.in_(statuses))
    if created_from is not None:
        conditions.append(Job.created_at >= created_from)
    if created_to is not None:
        conditions.append(Job.created_at < created_to)
    count = select(func.count()).select_from(Job).where(*conditions)
    query = select(Job).where(*conditions)
    total = session.scalar(count) or 0
    rows = session.scalars(
        query.options(selectinload(Job.outputs))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def active(session: Session) -> list[tuple[str, dict[str, Any]]]:
    """(id, pipeline) of jobs that were PENDING or PROCESSING: the ones to pick up again after a restart."""
    rows = session.execute(select(Job.id, Job.pipeline).where(Job.status.in_(ACTIVE)).order_by(Job.created_at))
    return [(row[0], row[1]) for row in rows]


def undelivered_webhook_ids(session: Session) -> list[str]:
    from pixmill.jobs.states import FINAL, WEBHOOK_PENDING

    return list(session.scalars(select(Job.id).where(Job.status.in_(FINAL), Job.webhook_status == WEBHOOK_PENDING)))


def expired(session: Session, now: datetime) -> Sequence[Job]:
    return session.scalars(select(Job).where(Job.expires_at < now)).all()


def mark_failed(session: Session, job_id: str, message: str, *, unfinished_only: bool = False) -> bool:
    """Set the job FAILED with `message` (its webhook then due) and commit; False when there is no such job, or,
    with unfinished_only, when it is already final."""
    job = get_bare(session, job_id)
    if job is None or (unfinished_only and job.status in states.FINAL):
        return False
    job.status, job.error, job.finished_at = states.FAILED, message, datetime.now(UTC)
    if job.webhook_url:
        job.webhook_status = states.WEBHOOK_PENDING
    session.commit()
    return True


def cancel_pending(session: Session, job_id: str, reason: str, now: datetime) -> bool:
    """CANCELLED at once if still PENDING (its webhook then due); whether it was."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == states.PENDING)
        .values(
            status=states.CANCELLED,
            error=reason,
            finished_at=now,
            cancel_requested_at=now,
            webhook_status=case((Job.webhook_url.is_not(None), states.WEBHOOK_PENDING), else_=Job.webhook_status),
        )
    )
    return bool(getattr(result, "rowcount", 0))


def request_cancel(session: Session, job_id: str, now: datetime) -> bool:
    """Ask a PROCESSING job's worker to stop at its next step boundary; whether the job was PROCESSING."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == states.PROCESSING).values(cancel_requested_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


def cancel_requested(session: Session, job_id: str) -> bool:
    return session.scalar(select(Job.cancel_requested_at).where(Job.id == job_id)) is not None


def mark_cancelled(session: Session, job_id: str, reason: str) -> bool:
    """A running job stopped on its owner's request: CANCELLED (its webhook then due), unless it is final already."""
    job = get_bare(session, job_id)
    if job is None or job.status in states.FINAL:
        return False
    job.status, job.error, job.finished_at = states.CANCELLED, reason, datetime.now(UTC)
    if job.webhook_url:
        job.webhook_status = states.WEBHOOK_PENDING
    session.commit()
    return True


def remove(session: Session, job: Job) -> None:
    """Delete a loaded job with its outputs (the ORM cascade, on every database)."""
    session.delete(job)


def delete_unless_running(session: Session, job_id: str) -> bool:
    """Delete the job and its outputs unless it is running (checked in the DELETE itself, so a job that starts at
    the same moment is either deleted before it starts or left alone); whether it was deleted."""
    result = session.execute(sql_delete(Job).where(Job.id == job_id, Job.status != states.PROCESSING))
    if not getattr(result, "rowcount", 0):
        return False
    session.execute(sql_delete(JobOutput).where(JobOutput.job_id == job_id))
    return True


def delete(session: Session, job_id: str) -> None:
    session.execute(sql_delete(Job).where(Job.id == job_id))


def delete_lapsed_keys(session: Session, now: datetime) -> None:
    """Delete the idempotency keys whose hold ended before `now`."""
    session.execute(sql_delete(IdempotencyKey).where(IdempotencyKey.expires_at < now))
