"""Job routes: submit a pipeline over uploaded assets, read one job or follow it live, list jobs, read the
catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Query, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from pixmill.api.deps import AUTH_RESPONSES, Address, BaseUrl, Caller, Ctx, Runner, need_scope, signed_in
from pixmill.api.routing import BoundedJsonRoute
from pixmill.context import Context
from pixmill.db.models import MAX_DB_INT, Job
from pixmill.identity import quotas
from pixmill.identity.errors import Forbidden
from pixmill.imaging.catalogue import describe
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.jobs import live, service
from pixmill.jobs.schemas import JobCreate, JobPage, JobRead, OperationRead, OutputRead, StepRead, WebhookRead
from pixmill.jobs.tasks import submit_new
from pixmill.logs import request_id_var

JobStatus = Literal["PENDING", "PROCESSING", "COMPLETED", "FAILED", "COMPLETED_WEBHOOK_FAILED", "CANCELLED"]

router = APIRouter(prefix="/api/v1", tags=["jobs"], route_class=BoundedJsonRoute)

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def job_read(ctx: Context, job: Job, base_url: str) -> JobRead:
    return JobRead(
        id=job.id,
        status=job.status,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        expires_at=job.expires_at,
        inputs=list(job.input_ids),
        pipeline=job.pipeline,
        steps=[StepRead(**s) for s in job.steps],
        error=job.error,
        outputs=[
            OutputRead(
                input=o.input_index,
                name=o.name,
                node=o.node,
                format=o.format,
                media_type=o.media_type,
                bytes=o.bytes,
                width=o.width,
                height=o.height,
                url=service.output_url(ctx, job, o, base_url),
            )
            for o in job.outputs
        ],
        metadata=job.result_metadata,
        webhook=WebhookRead(url=job.webhook_url, status=job.webhook_status) if job.webhook_url else None,
    )


@router.post(
    "/jobs",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run a pipeline over uploaded assets",
    responses={
        403: {"description": "The API key lacks the 'jobs' scope"},
        409: {"description": "A request with this Idempotency-Key is still being handled (Retry-After)"},
        429: {"description": "More jobs this minute than the caller's quota (Retry-After)"},
        422: {
            "description": "Invalid pipeline, unknown asset (or another user's), refused webhook URL, or an "
            "Idempotency-Key reused with a different request"
        },
        503: {
            "description": "The job runner or the idempotency store is unreachable (Retry-After); nothing was stored"
        },
    },
)
def create_job(
    ctx: Ctx,
    runner: Runner,
    base: BaseUrl,
    body: JobCreate,
    response: Response,
    caller: Caller,
    address: Address,
    idempotency_key: IdempotencyKey = None,
) -> JobRead:
    need_scope(caller, "jobs")
    quotas.check_job_rate(ctx, caller, address)
    pipeline = parse_pipeline(body.pipeline)
    job, created = service.create_job(
        ctx,
        pipeline=pipeline,
        input_ids=body.inputs,
        base_url=base,
        request_id=request_id_var.get(),
        webhook_url=body.webhook_url,
        idempotency_key=idempotency_key,
        principal=caller,
    )
    if created:
        submit_new(ctx, runner, job.id, service.queue_for(pipeline), service.scoped_key(caller, idempotency_key))
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return job_read(ctx, job, base)


@router.get(
    "/jobs/{job_id}",
    summary="One job with fresh signed URLs (anonymous jobs by id; a user's only to its owner and admins)",
    responses={403: {"description": "The API key lacks the 'jobs' scope"}, 404: {"description": "No such job"}},
)
def get_job(ctx: Ctx, base: BaseUrl, caller: Caller, job_id: str) -> JobRead:
    need_scope(caller, "jobs")
    return job_read(ctx, service.read_job(ctx, job_id, caller), base)


@router.get(
    "/jobs/{job_id}/events",
    summary="Follow one job live (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`state` (the job, as GET /jobs/{id} gives it), then `status`, `step` and `webhook` "
            "events as they happen, and `state` again once the status is final; then the stream ends.",
        },
        403: {"description": "The API key lacks the 'jobs' scope"},
        404: {"description": "No such job"},
    },
)
async def job_events(ctx: Ctx, base: BaseUrl, caller: Caller, job_id: str) -> StreamingResponse:
    need_scope(caller, "jobs")
    subscription = await live.subscribe(ctx, job_id)  # before reading the job: no event falls in between
    try:
        job = await run_in_threadpool(service.get_job, ctx, job_id, caller)
    except BaseException:
        await live.close(subscription)
        raise
    return StreamingResponse(
        live.job_stream(ctx, job, subscription, lambda j: job_read(ctx, j, base).model_dump_json()),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/jobs",
    summary="The caller's jobs, newest first (an admin sees every job, or one user's with ?owner=)",
    responses=AUTH_RESPONSES,
)
def list_jobs(
    ctx: Ctx,
    base: BaseUrl,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
    owner: Annotated[str | None, Query(max_length=64, description="A user id (admins only).")] = None,
    status: Annotated[
        list[JobStatus] | None, Query(max_length=5, description="Only jobs in these statuses (repeat the parameter).")
    ] = None,
    created_from: Annotated[datetime | None, Query(description="Only jobs created at or after this time.")] = None,
    created_to: Annotated[datetime | None, Query(description="Only jobs created before this time.")] = None,
) -> JobPage:
    signed_in(caller, "jobs")
    if not caller.is_admin:
        if owner is not None and owner != caller.user_id:
            raise Forbidden("only an admin may list another user's jobs (?owner=)")
        owner = caller.user_id
    rows, total = service.list_jobs(ctx, limit, offset, owner, status or (), _utc(created_from), _utc(created_to))
    return JobPage(items=[job_read(ctx, j, base) for j in rows], total=total, limit=limit, offset=offset)


def _utc(when: datetime | None) -> datetime | None:
    """A time the client sent, as UTC (one without a zone is taken as UTC)."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=202,
    summary="Cancel a job: a PENDING one at once; a PROCESSING one stops at its next step boundary",
    responses={
        403: {"description": "The API key lacks the 'jobs' scope"},
        404: {"description": "No such job (or another user's)"},
        409: {"description": "The job has finished already"},
    },
)
def cancel_job(ctx: Ctx, base: BaseUrl, caller: Caller, job_id: str, background: BackgroundTasks) -> JobRead:
    need_scope(caller, "jobs")
    job, cancelled = service.cancel_job(ctx, job_id, caller)
    if cancelled and job.webhook_url:
        background.add_task(service.notify, ctx, job_id)  # a running one's worker notifies when it stops
    return job_read(ctx, job, base)


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    summary="Delete a job with its results (anonymous jobs by id; a user's by its owner and admins)",
    responses={
        403: {"description": "The API key lacks the 'jobs' scope"},
        404: {"description": "No such job (or another user's)"},
        409: {"description": "The job is running: delete it once it has finished (Retry-After)"},
    },
)
def delete_job(ctx: Ctx, caller: Caller, job_id: str) -> Response:
    need_scope(caller, "jobs")
    service.delete_job(ctx, job_id, caller)
    return Response(status_code=204)


@router.get("/operations", summary="The operation catalogue")
def list_operations() -> list[OperationRead]:
    return [OperationRead(**op) for op in describe()]
