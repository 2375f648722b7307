"""PixTools-compatible routes: existing clients of that API work unchanged."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, UploadFile, status

from pixmill.api.deps import BaseUrl, Ctx, Runner
from pixmill.assets.endpoints import ingest
from pixmill.compat.schemas import CompatJob, ProcessAccepted
from pixmill.compat.service import translate
from pixmill.jobs import service as jobs
from pixmill.jobs.runner import submit_new
from pixmill.logs import request_id_var

router = APIRouter(prefix="/api", tags=["pixtools"])


@router.post(
    "/process",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload one image and process it (PixTools shape)",
    responses={
        413: {"description": "File or image too large"},
        415: {"description": "Not a supported image"},
        422: {"description": "Bad operations, parameters or webhook URL"},
    },
)
def process(
    ctx: Ctx,
    runner: Runner,
    base: BaseUrl,
    file: Annotated[UploadFile, File(description="The image.")],
    operations: Annotated[str, Form(description='JSON array, e.g. ["webp", "metadata"].')],
    operation_params: Annotated[str | None, Form(description='JSON object, e.g. {"webp": {"quality": 80}}.')] = None,
    webhook_url: Annotated[str | None, Form()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> ProcessAccepted:
    pipeline, ops = translate(operations, operation_params)
    if webhook_url == "":
        webhook_url = None
    job, created = jobs.create_job(  # the file is stored only once the Idempotency-Key is claimed
        ctx,
        pipeline=pipeline,
        input_ids=[],
        base_url=base,
        request_id=request_id_var.get(),
        webhook_url=webhook_url,
        idempotency_key=idempotency_key,
        api="process",
        operations=ops,
        upload=lambda: ingest(ctx, [file]),
    )
    if created:
        submit_new(ctx, runner, job.id, jobs.queue_for(pipeline), idempotency_key)
    return ProcessAccepted(job_id=job.id, status=job.status)


@router.get(
    "/jobs/{job_id}", summary="Job status and results (PixTools shape)", responses={404: {"description": "No such job"}}
)
def get_job(ctx: Ctx, base: BaseUrl, job_id: str) -> CompatJob:
    job = jobs.read_job(ctx, job_id)
    exif = None
    if job.result_metadata:
        first = job.result_metadata.get("inputs", [{}])[0]
        if "metadata" in first:
            exif = first["metadata"].get("exif", {})
    return CompatJob(
        job_id=job.id,
        status=job.status,
        operations=job.operations,
        result_urls=jobs.result_urls(ctx, job, base),
        archive_url=jobs.archive_url(ctx, job, base),
        metadata=exif,
        error_message=job.error,
        created_at=job.created_at,
    )
