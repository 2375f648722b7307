"""Out of 50 jobs submitted while one of two workers is SIGKILLed mid-job and restarted, 50 complete, and none is
duplicated in its results: one output row per job, one stored file per job."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.config import Settings
from tests import images
from tests.conftest import submit, upload, wait_for
from tests.distributed.conftest import Worker, db_rows, log_records, wait_until

pytestmark = pytest.mark.distributed

JOBS = 50
# A tiny AVIF: small files, yet a tenth of a second of work or more, so that a worker is killed mid-job.
SLOWISH = [{"op": "convert", "params": {"format": "avif", "speed": 3, "quality": 90}}]


def _running(worker: Worker) -> set[str]:
    """Jobs the worker's log says it started and did not finish."""
    started, finished = set(), set()
    for record in log_records(worker.log()):
        if record.get("message") == "job started":
            started.add(record["job_id"])
        elif record.get("message") in ("job completed", "job failed on its input", "job crashed"):
            finished.add(record["job_id"])
    return started - finished


def test_fifty_jobs_complete_exactly_once_while_a_worker_is_killed_and_restarted(
    celery_settings: Settings, start_worker: Any
) -> None:
    doomed, _ = start_worker("standard"), start_worker("standard")
    with TestClient(create_app(celery_settings)) as client:
        (asset,) = upload(client, ("n.png", images.encode(images.noise(64, 48), "PNG")), content_type="image/png")
        ids = [submit(client, [asset["id"]], SLOWISH)["id"] for _ in range(JOBS)]

        wait_until(lambda: bool(_running(doomed)), 60, "the worker started no job", interval=0.01)
        doomed.kill()
        (held,) = _running(doomed)  # the job it died in, its message unacknowledged
        done_before = sum(r["status"] == "COMPLETED" for r in (client.get(f"/api/v1/jobs/{i}").json() for i in ids))
        assert done_before < JOBS, "every job was done before the kill: the test proves nothing"
        start_worker("standard")  # the restarted worker

        jobs = [wait_for(client, job_id, timeout=180) for job_id in ids]
    assert [j["status"] for j in jobs] == ["COMPLETED"] * JOBS, [j for j in jobs if j["status"] != "COMPLETED"]
    assert all(len(j["outputs"]) == 1 and j["outputs"][0]["format"] == "AVIF" for j in jobs)

    outputs = dict(db_rows(celery_settings, "SELECT job_id, count(*) FROM job_outputs GROUP BY job_id"))
    assert outputs == dict.fromkeys(ids, 1)
    attempts = dict(db_rows(celery_settings, "SELECT id, attempts FROM jobs"))
    assert attempts[held] == 2, "the job the worker died in ran again, once"
    assert sum(attempts.values()) == JOBS + 1

    stored = [p for p in (celery_settings.resolved_storage_dir / "results").rglob("*") if p.is_file()]
    by_job = sorted(p.relative_to(celery_settings.resolved_storage_dir / "results").parts[0] for p in stored)
    assert by_job == sorted(ids), "one stored result file per job, no more"
