"""Passing errors are retried with backoff; bad input fails at once and is never retried."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from pixmill.adapters.storage import StorageUnavailable
from pixmill.adapters.storage.s3 import port_error
from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.imaging.errors import CorruptImage
from pixmill.worker.retry import is_transient, retry_delay, retry_window
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import db_rows, log_records, wait_until
from tests.distributed.servers import PrivateSeaweed
from tests.seaweed import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.distributed

RESIZE = [{"op": "resize", "params": {"width": 40}}, {"op": "convert", "params": {"format": "png"}}]


def _retries(log: str, job_id: str) -> list[dict[str, Any]]:
    return [r for r in log_records(log) if r.get("message") == "transient error, retrying" and r.get("job") == job_id]


def _s3_error(status: int) -> ClientError:
    return ClientError({"Error": {"Code": str(status)}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused")), True),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:9"), True),
        (ReadTimeoutError(endpoint_url="http://127.0.0.1:9"), True),
        (_s3_error(503), True),
        (StorageUnavailable("the object store is unreachable (EndpointConnectionError: …)"), True),
        (ConnectionResetError(104, "reset by peer"), True),
        (IsADirectoryError(21, "Is a directory"), True),
        (_s3_error(403), False),
        (OSError("encoder error -2 when writing image file"), False),  # Pillow's, about the data
        (CorruptImage("the image cannot be decoded (truncated or damaged)"), False),
        (ValueError("a bug"), False),
    ],
)
def test_which_errors_are_retried(error: Exception, transient: bool) -> None:
    """botocore's errors reach the retry policy as the S3 adapter raises them (its port's error for an outage)."""
    assert is_transient(port_error(error)) is transient


def test_the_default_retries_outlast_a_60_second_outage_with_jitter_and_a_cap() -> None:
    settings = Settings()
    least, most = retry_window(settings)
    assert (least, most) == (95.0, 190.0)  # the README states these
    assert least > 60 + 30  # a minute's outage, and room for the tries themselves
    rng = random.Random(7)
    delays = [[retry_delay(settings, n, rng) for n in range(settings.job_retries)] for _ in range(200)]
    for n in range(settings.job_retries):
        step = min(20.0, 2.0 * 2**n)
        drawn = [d[n] for d in delays]
        assert all(step / 2 <= d <= step for d in drawn)
        assert len(set(drawn)) > 150  # jittered: a batch that failed together does not come back together
    assert all(least <= sum(d) <= most for d in delays)
    assert retry_delay(settings.model_copy(update={"job_retry_backoff_max_s": 5.0}), 40) <= 5.0


def test_a_job_whose_storage_is_down_is_retried_with_backoff_and_completes_once_it_is_back(
    tmp_path: Path, postgres_url: str, broker_url: str, private_seaweed: PrivateSeaweed, start_worker: Any
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        runner="celery",
        workers=1,
        storage="s3",
        s3_endpoint_url=private_seaweed.endpoint,
        s3_bucket="pixmill-retries",
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        job_retries=6,
        job_retry_backoff_s=0.5,
    )
    worker = start_worker("standard", settings)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(160, 120)))
        warm = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])  # the worker has met the store
        assert warm["status"] == "COMPLETED", warm

        private_seaweed.stop()
        job_id = submit(client, [asset["id"]], RESIZE)["id"]
        wait_until(lambda: len(_retries(worker.log(), job_id)) >= 1, 60, "the job was never retried")
        waiting = client.get(f"/api/v1/jobs/{job_id}").json()
        assert waiting["status"] in ("PENDING", "PROCESSING"), waiting  # waiting for its retry, not failed
        private_seaweed.start()  # same data, same port

        job = wait_for(client, job_id, timeout=90)
        assert job["status"] == "COMPLETED", job
        assert job["error"] is None
        (output,) = job["outputs"]
        assert images.decode(httpx.get(output["url"]).content).size == (40, 30)  # presigned, from the store

    retries = _retries(worker.log(), job_id)
    assert "EndpointConnectionError" in retries[0]["error"], retries[0]
    for n, retry in enumerate(retries):  # exponential backoff, capped, with jitter: between half and all of the step
        step = min(settings.job_retry_backoff_max_s, 0.5 * 2**n)
        assert step / 2 <= retry["in_s"] <= step, (n, retry)
    ((attempts,),) = db_rows(settings, "SELECT attempts FROM jobs WHERE id=:id", id=job_id)
    assert attempts == len(retries) + 1


def test_bad_input_fails_at_once_and_is_never_retried(celery_settings: Settings, start_worker: Any) -> None:
    worker = start_worker("standard")
    data = images.jpeg(600, 400)
    with TestClient(create_app(celery_settings)) as client:
        (asset,) = upload(client, ("cut.jpg", data[: len(data) // 2]))
        job = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])
    assert job["status"] == "FAILED", job
    assert "truncated or damaged" in job["error"]
    ((attempts,),) = db_rows(celery_settings, "SELECT attempts FROM jobs WHERE id=:id", id=job["id"])
    assert attempts == 1
    assert _retries(worker.log(), job["id"]) == []
    records = log_records(worker.log())
    assert any(r.get("message") == "job failed on its input" and r.get("job_id") == job["id"] for r in records)
