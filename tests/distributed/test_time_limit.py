"""A job stuck in one long step meets Celery's hard time limit: its pool process is killed, and the job is FAILED
with the reason (not left PROCESSING), its webhook told, and the worker serves on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.worker.retry import time_limits
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import db_rows, wait_until
from tests.webhook_sink import WebhookSink

pytestmark = pytest.mark.distributed

# One step of many seconds in C (AVIF at speed 0 on a noisy image): the pipeline's deadline, checked between
# steps, never sees it, and the soft time limit cannot interrupt it.
STUCK = [{"op": "convert", "params": {"format": "avif", "speed": 0, "quality": 90}}]
QUICK = [{"op": "resize", "params": {"width": 40}}]


def test_time_limits_of_a_job_follow_its_timeout() -> None:
    assert time_limits(300) == (330, 360)
    assert time_limits(1) == (2, 3)
    assert time_limits(3600) == (3630, 3660)


def test_a_job_past_its_hard_time_limit_is_failed_and_its_webhook_told(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any
) -> None:
    settings = make_settings(
        tmp_path, database_url=postgres_url, broker_url=broker_url, runner="celery", workers=1, job_timeout_s=2
    )
    worker = start_worker("standard", settings)
    with WebhookSink() as sink, TestClient(create_app(settings)) as client:
        (quick,) = upload(client, ("q.jpg", images.jpeg(160, 120)))
        warm = wait_for(client, submit(client, [quick["id"]], QUICK)["id"])
        assert warm["status"] == "COMPLETED", warm

        (slow,) = upload(client, ("n.png", images.encode(images.noise(480, 360), "PNG")), content_type="image/png")
        job = wait_for(client, submit(client, [slow["id"]], STUCK, webhook_url=sink.url)["id"], timeout=60)
        assert job["status"] == "FAILED", job
        assert job["error"] == "the job ran past its time limit (2 s) and its worker process was killed after 4 s"
        wait_until(lambda: len(sink.payloads()) == 1, 10, "the webhook was not called")
        (payload,) = sink.payloads()
        assert payload["status"] == "FAILED" and payload["error_message"] == job["error"]

        after = wait_for(client, submit(client, [quick["id"]], QUICK)["id"])  # a new pool process took over
        assert after["status"] == "COMPLETED", after
    assert "Hard time limit (4.0s) exceeded for pixmill.run_job" in worker.log()
    ((attempts,),) = db_rows(settings, "SELECT attempts FROM jobs WHERE id=:id", id=job["id"])
    assert attempts == 1  # failed once, not run again
