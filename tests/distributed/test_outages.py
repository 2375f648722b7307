"""A minute without the object store or the broker, mid-batch, with the default retry settings: every job completes,
none is dead-lettered, and what cannot be stored meanwhile is refused with 503 and Retry-After, storing nothing.

Both servers are the test's own (see servers.py): the shared ones are never stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu import Connection

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.worker.celery_app import dead_queue
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import db_rows, log_records, wait_until
from tests.distributed.servers import PrivateRabbit, PrivateSeaweed
from tests.seaweed import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.distributed

OUTAGE_S = 60.0
BATCH = 16
# About half a second of work a job on one pool process, so the outage starts with most of the batch still to run.
HEAVY = [{"op": "resize", "params": {"width": 1600}}, {"op": "convert", "params": {"format": "png"}}]


def _dead(broker_url: str) -> int:
    with Connection(broker_url) as conn:
        return int(dead_queue(conn.default_channel).queue_declare(passive=True).message_count)


def _statuses(client: TestClient, job_ids: list[str]) -> list[str]:
    return [client.get(f"/api/v1/jobs/{j}").json()["status"] for j in job_ids]


def _start_batch(client: TestClient, asset_id: str) -> list[str]:
    """Submit the batch and return once its first job is done (the worker is busy with the rest)."""
    job_ids = [submit(client, [asset_id], HEAVY)["id"] for _ in range(BATCH)]
    wait_until(lambda: "COMPLETED" in _statuses(client, job_ids), 60, "no job of the batch completed", interval=0.2)
    return job_ids


def _all_completed(client: TestClient, job_ids: list[str], timeout: float) -> None:
    for job_id in job_ids:
        job = wait_for(client, job_id, timeout=timeout)
        assert job["status"] == "COMPLETED", job
        assert job["error"] is None, job
        assert [o["width"] for o in job["outputs"]] == [1600]


def _s3_settings(tmp_path: Path, postgres_url: str, broker_url: str, store: PrivateSeaweed) -> Settings:
    # The retry settings are the defaults (no job_retries, job_retry_backoff_s or job_retry_backoff_max_s here).
    return make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        runner="celery",
        workers=1,
        storage="s3",
        s3_endpoint_url=store.endpoint,
        s3_bucket="pixmill-outage",
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
    )


def test_a_60_second_storage_outage_mid_batch_fails_no_job_and_uploads_meanwhile_get_503(
    tmp_path: Path, postgres_url: str, broker_url: str, private_seaweed: PrivateSeaweed, start_worker: Any
) -> None:
    settings = _s3_settings(tmp_path, postgres_url, broker_url, private_seaweed)
    assert settings.job_retries == Settings().job_retries
    worker = start_worker("standard", settings)
    photo = images.jpeg(2400, 1800)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("big.jpg", photo))
        job_ids = _start_batch(client, asset["id"])
        private_seaweed.stop()
        stopped = time.monotonic()
        done_at_stop = _statuses(client, job_ids).count("COMPLETED")
        assert done_at_stop < BATCH  # the outage really is mid-batch

        ((assets_before,),) = db_rows(settings, "SELECT count(*) FROM assets")
        r = client.post("/api/v1/uploads", files=[("files", ("late.jpg", images.jpeg(64, 48), "image/jpeg"))])
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["Retry-After"] == "10"
        assert r.json()["title"] == "Storage unavailable"
        assert "object store is unreachable" in r.json()["detail"]
        r = client.post(
            "/api/process",
            files={"file": ("late.jpg", images.jpeg(64, 48), "image/jpeg")},
            data={"operations": '["webp"]'},
            headers={"Idempotency-Key": "during-the-outage"},
        )
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "10"
        assert "object store is unreachable" in r.json()["detail"]
        assert db_rows(settings, "SELECT count(*) FROM assets") == [(assets_before,)]  # nothing recorded
        # A job on an upload already stored is taken: it waits for the store like the batch.
        job_ids.append(submit(client, [asset["id"]], HEAVY)["id"])

        wait_until(lambda: time.monotonic() - stopped >= OUTAGE_S, OUTAGE_S + 5, "", interval=1)
        assert set(_statuses(client, job_ids)) <= {"PENDING", "PROCESSING", "COMPLETED"}  # none failed meanwhile
        private_seaweed.start()
        _all_completed(client, job_ids, timeout=90)

        # The same key now stores its upload and makes its job: the refused request kept nothing, not even the key.
        r = client.post(
            "/api/process",
            files={"file": ("late.jpg", images.jpeg(64, 48), "image/jpeg")},
            data={"operations": '["webp"]'},
            headers={"Idempotency-Key": "during-the-outage"},
        )
        assert r.status_code == 202, r.text
    listed = private_seaweed.client().list_objects_v2(Bucket="pixmill-outage", Prefix="uploads/")
    assert len(listed.get("Contents", [])) == 2  # the batch's photo and the last /api/process file: nothing else

    assert _dead(broker_url) == 0
    retries = [r for r in log_records(worker.log()) if r.get("message") == "transient error, retrying"]
    assert retries and all("StorageUnavailable" in r["error"] for r in retries), retries[:3]
    assert max(r["in_s"] for r in retries) <= settings.job_retry_backoff_max_s
    print(f"{done_at_stop} of {BATCH} jobs done when the store stopped; {len(retries)} retries")


def test_a_60_second_broker_outage_mid_batch_fails_no_job(
    tmp_path: Path, postgres_url: str, private_rabbit: PrivateRabbit, start_worker: Any
) -> None:
    settings = make_settings(
        tmp_path, database_url=postgres_url, broker_url=private_rabbit.url, runner="celery", workers=1
    )
    worker = start_worker("standard", settings)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("big.jpg", images.jpeg(2400, 1800)))
        job_ids = _start_batch(client, asset["id"])
        private_rabbit.stop()
        stopped = time.monotonic()
        done_at_stop = _statuses(client, job_ids).count("COMPLETED")
        assert done_at_stop < BATCH  # the outage really is mid-batch
        r = client.post("/api/v1/jobs", json={"inputs": [asset["id"]], "pipeline": HEAVY})
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "5"

        wait_until(lambda: time.monotonic() - stopped >= OUTAGE_S, OUTAGE_S + 5, "", interval=1)
        assert set(_statuses(client, job_ids)) <= {"PENDING", "PROCESSING", "COMPLETED"}  # none failed meanwhile
        private_rabbit.start()  # on the same data: the queued messages are still there
        _all_completed(client, job_ids, timeout=120)
        assert worker.proc is not None and worker.proc.poll() is None  # the same worker found the broker again
    assert _dead(private_rabbit.url) == 0
    print(f"{done_at_stop} of {BATCH} jobs done when the broker stopped")
    print(f"private RabbitMQ node started in {', '.join(f'{s:.1f}' for s in private_rabbit.start_seconds)} s")
