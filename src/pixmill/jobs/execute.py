"""Run one job: the function every runner calls (in a pool process here, in a Celery task later)."""

from __future__ import annotations

import io
import json
import logging
import re
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pixmill import pixtools as shape
from pixmill.adapters.events import emit
from pixmill.adapters.storage import ObjectNotFound
from pixmill.adapters.storage.keys import archive_key, result_key, result_prefix
from pixmill.canvas.types import Palettes
from pixmill.context import Context
from pixmill.db.models import Asset, JobOutput
from pixmill.imaging.errors import ImagingError
from pixmill.imaging.pipeline import Output, Step, parse_pipeline, run_pipeline
from pixmill.imaging.values import DataValue, EncodedValue
from pixmill.jobs import repository, snapshots, states
from pixmill.logs import job_id_var, request_id_var
from pixmill.metrics import instruments as metrics
from pixmill.palettes.service import PaletteNotFound
from pixmill.palettes.service import resolve as resolve_palettes
from pixmill.worker.retry import MAX_ATTEMPTS

log = logging.getLogger("pixmill.jobs")

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so archives are byte-identical


def _now() -> datetime:
    return datetime.now(UTC)


def execute_job(ctx: Context, job_id: str, *, raise_if: Callable[[Exception], bool] | None = None) -> str:
    """Process job `job_id` to a final status and return it; a job already final is left alone.

    raise_if: errors it accepts are raised, the job left PROCESSING, for the caller to retry or fail the job
    (the celery task's transient errors and time limit); any other error fails the job.
    """
    with ctx.session() as s:
        job = repository.get_bare(s, job_id)
        if job is None:
            log.warning("job vanished before it ran", extra={"job": job_id})
            return "MISSING"
        if job.status in states.FINAL:
            return job.status
        # Found PROCESSING, the job's last worker died in it; one a passing error stopped went back to PENDING
        # (release_job) and its retries are the runner's to count.
        operation, created_at = metrics.operation_of(job.pipeline), job.created_at
        if job.status == states.PROCESSING and job.attempts >= MAX_ATTEMPTS:
            _fail(ctx, job_id, f"gave up after {job.attempts} attempts (the worker stopped each time)")
            metrics.TASK_FAILURES.labels("pixmill.run_job", "gave_up").inc()
            metrics.job_finished(states.FAILED, operation, created_at, _now())
            return states.FAILED
        job.status = states.PROCESSING
        job.started_at = started_at = _now()
        job.attempts += 1
        s.commit()
        attempt, spec, input_ids, api = job.attempts, job.pipeline, list(job.input_ids), job.api
        rid_token = request_id_var.set(job.request_id)
        referenced = parse_pipeline(spec).asset_ids
        assets = {a.id: a for a in s.query(Asset).filter(Asset.id.in_(input_ids + referenced))}
        extra = {i: assets[i] for i in referenced if i in assets}
    snapshots.forget(ctx, job_id)
    emit(ctx.events, job_id, "status", states.PROCESSING, attempt=attempt)
    metrics.JOB_ATTEMPTS.labels("first" if attempt == 1 else "repeat").inc()
    if attempt == 1:
        wait = metrics.seconds_between(created_at, started_at)
        if wait is not None:
            metrics.JOB_QUEUE_WAIT_SECONDS.labels(operation).observe(wait)
    jid_token = job_id_var.set(job_id)
    started = time.monotonic()
    try:
        status = _process(ctx, job_id, spec, [assets.get(i) for i in input_ids], extra, api, raise_if)
        if status in states.FINAL:
            metrics.JOB_PROCESSING_SECONDS.labels(status, operation).observe(time.monotonic() - started)
            metrics.job_finished(status, operation, created_at, _now())
        return status
    finally:
        job_id_var.reset(jid_token)
        request_id_var.reset(rid_token)


class _Cancelled(Exception):
    """The job's owner cancelled it: raised at a step boundary, it ends the run as CANCELLED."""


def _stop_if_cancelled(ctx: Context, job_id: str, where: str) -> None:
    with ctx.session() as s:
        if repository.cancel_requested(s, job_id):
            raise _Cancelled(f"cancelled by its owner while processing ({where})")


def _process(
    ctx: Context,
    job_id: str,
    spec: dict[str, Any],
    assets: list[Asset | None],
    extra: dict[str, Asset],
    api: str,
    raise_if: Callable[[Exception], bool] | None = None,
) -> str:
    started = time.monotonic()
    log.info("job started", extra={"inputs": len(assets)})
    try:
        pipeline = parse_pipeline(spec)
        palettes = resolve_palettes(ctx, pipeline.names_needed(Palettes))
        run_ctx = ctx.settings.run_context(deadline=started + ctx.settings.job_timeout_s, palettes=palettes)
        outputs: list[JobOutput] = []
        steps: list[dict[str, Any]] = []
        per_input: list[dict[str, Any]] = []
        referenced = {asset_id: ctx.storage.get(a.storage_key) for asset_id, a in extra.items()}
        for index, asset in enumerate(assets):
            if asset is None:
                raise ObjectNotFound(f"input {index}")
            _stop_if_cancelled(ctx, job_id, f"before input {index}")

            def report(step: Step, index: int = index) -> None:
                fields = {"input": index, "node": step.node, "op": step.op, "ms": round(step.ms, 3)}
                emit(ctx.events, job_id, "step", states.PROCESSING, **fields)
                _stop_if_cancelled(ctx, job_id, f"after step {step.node} of input {index}")

            data = ctx.storage.get(asset.storage_key)
            result = run_pipeline(pipeline, data, run_ctx, referenced, on_step=report)
            data_results: dict[str, Any] = {}
            for out in result.outputs:
                outputs.append(_store_output(ctx, job_id, index, out))
                if isinstance(out.value, DataValue):
                    data_results[out.name] = out.value.data
            per_input.append(data_results)
            steps += [{"input": index, "node": st.node, "op": st.op, "ms": round(st.ms, 3)} for st in result.steps]
        archive = _store_pixtools_archive(ctx, job_id, outputs, assets[0]) if api == "process" else None
    except _Cancelled as exc:
        with ctx.session() as s:
            repository.mark_cancelled(s, job_id, str(exc))
        snapshots.forget(ctx, job_id)
        ctx.storage.delete_prefix(result_prefix(job_id))  # what earlier inputs stored: a cancelled job has none
        emit(ctx.events, job_id, "status", states.CANCELLED, error=str(exc))
        log.info("job cancelled", extra={"error": str(exc)})
        return states.CANCELLED
    except ImagingError as exc:
        log.info("job failed on its input", extra={"error": exc.message})
        _fail(ctx, job_id, exc.message)
        return states.FAILED
    except PaletteNotFound as exc:
        _fail(ctx, job_id, str(exc))
        return states.FAILED
    except ObjectNotFound as exc:
        _fail(ctx, job_id, f"an input file is no longer stored ({exc}); it may have expired")
        return states.FAILED
    except Exception as exc:
        if raise_if is not None and raise_if(exc):
            raise
        log.exception("job crashed")
        _fail(ctx, job_id, f"internal error while processing ({type(exc).__name__}); the job was not completed")
        return states.FAILED

    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None:
            return "MISSING"
        job.outputs.clear()  # a rerun after a crash replaces, never duplicates
        s.flush()
        job.outputs.extend(outputs)
        job.steps = steps
        job.result_metadata = {"inputs": per_input} if any(per_input) else None
        job.archive_key = archive
        job.status = states.COMPLETED
        job.error = None
        job.finished_at = _now()
        if job.webhook_url:
            job.webhook_status = states.WEBHOOK_PENDING
        s.commit()
    snapshots.forget(ctx, job_id)
    emit(ctx.events, job_id, "status", states.COMPLETED, outputs=len(outputs))
    log.info("job completed", extra={"ms": round((time.monotonic() - started) * 1000, 1), "outputs": len(outputs)})
    return states.COMPLETED


def _store_output(ctx: Context, job_id: str, input_index: int, out: Output) -> JobOutput:
    value = out.value
    if isinstance(value, EncodedValue):
        data, media_type, ext = value.data, value.media_type, value.extension
        fmt, width, height = value.format, value.width, value.height
    else:
        data = json.dumps(value.data, sort_keys=True, indent=2).encode()
        media_type, ext, fmt, width, height = "application/json", "json", None, None, None
    key = result_key(job_id, input_index, out.index, ext, out.part)
    ctx.storage.put(key, data, media_type)
    return JobOutput(
        input_index=input_index,
        node_index=out.index,
        name=out.name,
        node=out.node,
        storage_key=key,
        media_type=media_type,
        format=fmt,
        bytes=len(data),
        width=width,
        height=height,
    )


def download_name(output: JobOutput, multiple_inputs: bool) -> str:
    """A friendly file name for an output: its name, the input number when several, the extension."""
    ext = output.storage_key.rsplit(".", 1)[-1]
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", output.name)
    if stem.lower().endswith("." + ext):
        stem = stem[: -len(ext) - 1]
    return f"{stem}-{output.input_index}.{ext}" if multiple_inputs else f"{stem}.{ext}"


def _store_pixtools_archive(ctx: Context, job_id: str, outputs: list[JobOutput], upload: Asset | None) -> str | None:
    """The ZIP of a PixTools-shaped job's result files (no metadata JSON), named as PixTools names them; None
    when there is no result file (a metadata-only job)."""
    files = [o for o in outputs if shape.is_result_file(o.media_type)]
    if not files:
        return None
    filename = upload.filename if upload is not None else None
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for out in files:
            name = shape.download_name(out.name, filename, out.storage_key.rsplit(".", 1)[-1])
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, ctx.storage.get(out.storage_key))
    key = archive_key(job_id)
    ctx.storage.put(key, buf.getvalue(), "application/zip")
    return key


def _fail(ctx: Context, job_id: str, message: str, unfinished_only: bool = False) -> bool:
    with ctx.session() as s:
        if not repository.mark_failed(s, job_id, message, unfinished_only=unfinished_only):
            return False
    snapshots.forget(ctx, job_id)
    emit(ctx.events, job_id, "status", states.FAILED, error=message)
    return True


def fail_job(ctx: Context, job_id: str, message: str) -> bool:
    """Mark a job FAILED from outside its worker (the worker process died, say); a final job is left alone.

    Returns whether the job was failed."""
    if not _fail(ctx, job_id, message, unfinished_only=True):
        return False
    with ctx.session() as s:
        job = repository.get_bare(s, job_id)
        if job is not None:
            metrics.job_finished(states.FAILED, metrics.operation_of(job.pipeline), job.created_at, job.finished_at)
    return True


def release_job(ctx: Context, job_id: str, reason: str) -> None:
    """Put a job a passing error stopped back to PENDING, `reason` in its error, until its retry runs it."""
    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None or job.status in states.FINAL:
            return
        job.status = states.PENDING
        job.error = reason
        s.commit()
    emit(ctx.events, job_id, "status", states.PENDING, error=reason)


def release_interrupted(ctx: Context, job_id: str) -> None:
    """Put a job whose process the shutdown killed back to PENDING, its attempt not counted: the next start runs it."""
    with ctx.session() as s:
        job = repository.get_bare(s, job_id)
        if job is None or job.status != states.PROCESSING:
            return
        job.status = states.PENDING
        job.attempts = max(0, job.attempts - 1)
        s.commit()
