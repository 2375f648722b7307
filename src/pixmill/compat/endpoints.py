"""PixTools-compatible routes: clients of that API (its web page included) work unchanged.

Errors here have FastAPI's default shape, application/json {"detail": "…"} (see api/problems.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, UploadFile, status

from pixmill import pixtools as shape
from pixmill.api.deps import Address, BaseUrl, Caller, Ctx, Runner, need_scope
from pixmill.api.problems import Problem
from pixmill.api.routing import BoundedJsonRoute
from pixmill.assets.endpoints import ingest
from pixmill.assets.service import UploadRejected
from pixmill.compat.schemas import CompatJob, ProcessAccepted
from pixmill.compat.service import translate
from pixmill.db.models import Asset
from pixmill.identity import quotas
from pixmill.imaging.errors import UnsupportedFormat
from pixmill.jobs import service as jobs
from pixmill.jobs.fingerprints import file_digest
from pixmill.jobs.tasks import submit_new
from pixmill.logs import request_id_var

router = APIRouter(prefix="/api", tags=["pixtools"], route_class=BoundedJsonRoute)


def _ingest(ctx: Ctx, file: UploadFile, owner_id: str | None) -> list[Asset]:
    try:
        return ingest(ctx, [file], owner_id)
    except UploadRejected as exc:
        if isinstance(exc.error, UnsupportedFormat):  # PixTools answers 400 for a file type it does not take
            raise Problem(400, "Unsupported file type", f"Unsupported file type: {exc}") from None
        raise


@router.post(
    "/process",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload one image and process it (PixTools shape)",
    responses={
        400: {"description": "Not an image pixmill reads, or a multipart body that cannot be read"},
        403: {"description": "The API key lacks the 'jobs' or 'assets' scope"},
        409: {"description": "A request with this Idempotency-Key is still being handled (Retry-After)"},
        413: {"description": "File or image too large, or over the storage quota"},
        429: {"description": "More jobs this minute than the caller's quota (Retry-After)"},
        422: {
            "description": "Bad operations, parameters or webhook URL, a corrupt image, or an Idempotency-Key "
            "reused with a different request"
        },
        503: {
            "description": "The job runner, the idempotency store or the object store is unreachable (Retry-After); "
            "nothing was stored"
        },
    },
)
def process(
    ctx: Ctx,
    runner: Runner,
    base: BaseUrl,
    caller: Caller,
    address: Address,
    file: Annotated[UploadFile, File(description="The image.")],
    operations: Annotated[str, Form(description='JSON array, e.g. ["webp", "metadata"].')],
    operation_params: Annotated[
        str | None, Form(description='JSON object keyed by operation, e.g. {"webp": {"quality": 80}}.')
    ] = None,
    webhook_url: Annotated[str | None, Form()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> ProcessAccepted:
    need_scope(caller, "jobs")
    need_scope(caller, "assets")
    quotas.check_job_rate(ctx, caller, address)
    quotas.check_storage(ctx, caller, file.size or 0)
    pipeline, ops = translate(operations, operation_params)
    # What identifies this request for its Idempotency-Key: the file's bytes and name with the fields (as translated).
    digest = f"{file_digest(file.file)} {file.filename}" if idempotency_key else None
    job, created = jobs.create_job(  # the file is stored only once the Idempotency-Key is claimed
        ctx,
        pipeline=pipeline,
        input_ids=[],
        base_url=base,
        request_id=request_id_var.get(),
        webhook_url=webhook_url or None,
        idempotency_key=idempotency_key,
        api="process",
        operations=ops,
        upload=lambda: _ingest(ctx, file, caller.owner_id),
        upload_digest=digest,
        principal=caller,
    )
    if created:
        submit_new(ctx, runner, job.id, jobs.queue_for(pipeline), jobs.scoped_key(caller, idempotency_key))
    return ProcessAccepted(job_id=shape.public_job_id(job.id), status=job.status)


@router.get(
    "/jobs/{job_id}",
    summary="Job status and results (PixTools shape)",
    responses={
        403: {"description": "The API key lacks the 'jobs' scope"},
        404: {"description": "No such job (or another user's)"},
        422: {"description": "The id is not a UUID"},
    },
)
def get_job(ctx: Ctx, base: BaseUrl, caller: Caller, job_id: str) -> CompatJob:
    need_scope(caller, "jobs")
    try:
        job = jobs.read_job(ctx, shape.stored_job_id(job_id), caller)
    except shape.BadJobId as exc:
        raise Problem(422, "Invalid job id", str(exc)) from None
    except jobs.JobNotFound:
        raise Problem(404, "Job not found", f"Job {job_id} not found") from None
    exif = {}
    if job.result_metadata:
        first = job.result_metadata.get("inputs", [{}])[0]
        exif = first.get("metadata", {}).get("exif", {})
    result_urls, archive_url = jobs.pixtools_results(ctx, job, base)
    return CompatJob(
        job_id=shape.public_job_id(job.id),
        status=job.status,
        operations=job.operations,
        result_urls=result_urls,
        archive_url=archive_url,
        metadata=shape.pixtools_metadata(exif),
        error_message=job.error,
        created_at=job.created_at,
    )
