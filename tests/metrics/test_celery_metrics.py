"""The celery runner: a Celery worker's job shows in the API's /metrics when they share the host's metrics
directory, and the queue gauges read RabbitMQ at scrape time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from pixmill.config import Settings
from tests import images
from tests.distributed.conftest import api_processes, consumers, wait_until, worker_env
from tests.live import free_port
from tests.metrics.scraped import value

pytestmark = [pytest.mark.distributed, pytest.mark.postgres]

PIPELINE = [{"op": "resize", "params": {"width": 16}}, {"op": "convert", "params": {"format": "png"}}]


def scrape(url: str) -> str:
    r = httpx.get(f"{url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return r.text


def test_a_celery_workers_job_and_the_queues_show_in_the_apis_metrics(
    celery_settings: Settings, start_worker: Any
) -> None:
    worker = start_worker("standard")
    # two API processes (serve --workers 2): a scrape answered by either sums both
    with api_processes(celery_settings, workers=2) as (_, url), httpx.Client(base_url=url, timeout=30) as client:
        r = client.post("/api/v1/uploads", files=[("files", ("a.jpg", images.jpeg(64, 48), "image/jpeg"))])
        assert r.status_code == 201, r.text
        asset = r.json()["assets"][0]["id"]
        job = client.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": PIPELINE}).json()["id"]
        deadline, polls = time.monotonic() + 60, 0
        while (status := client.get(f"/api/v1/jobs/{job}").json()["status"]) in ("PENDING", "PROCESSING"):
            polls += 1
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.1)
        assert status == "COMPLETED"

        text = scrape(url)
        route = "/api/v1/jobs/{job_id}"
        assert value(text, "pixmill_http_request_duration_seconds_count", route=route) == polls + 1
        assert value(text, "pixmill_jobs_total", status="COMPLETED", operation="resize") == 1  # the Celery process's
        assert value(text, "pixmill_job_processing_seconds_count", status="COMPLETED", operation="resize") == 1
        assert value(text, "pixmill_queue_consumers", queue="standard") == 1
        assert value(text, "pixmill_queue_messages", queue="standard") == 0
        assert value(text, "pixmill_queue_messages", queue="pixmill.dead") == 0
        assert value(text, "pixmill_scrape_errors", reading="broker") == 0

        worker.stop()  # no consumer: the next job waits in the queue
        client.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": PIPELINE}).raise_for_status()
        text = scrape(url)
        assert value(text, "pixmill_queue_consumers", queue="standard") == 0
        assert value(text, "pixmill_queue_messages", queue="standard") == 1
        # the stopped worker's counts stay counted
        assert value(text, "pixmill_jobs_total", status="COMPLETED", operation="resize") == 1


def _consumed(broker_url: str) -> bool:
    try:
        return consumers(broker_url, "standard") > 0
    except Exception:  # the queue is not declared yet
        return False


def test_a_worker_on_another_host_serves_its_own_metrics(celery_settings: Settings, tmp_path: Path) -> None:
    """`pixmill worker --metrics-port`: a host with no API exports its workers' samples itself."""
    port = free_port()
    env = {**worker_env(celery_settings), "PIXMILL_METRICS_DIR": str(tmp_path / "other-host")}
    args = ["--queues", "standard", "--concurrency", "1", "--metrics-port", str(port)]
    log = (tmp_path / "exporter.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pixmill", "worker", *args], env=env, stdout=log, stderr=log, start_new_session=True
    )
    try:
        wait_until(lambda: _consumed(celery_settings.broker_url), 45, "the worker did not start")
        with api_processes(celery_settings) as (_, url), httpx.Client(base_url=url, timeout=30) as client:
            r = client.post("/api/v1/uploads", files=[("files", ("a.jpg", images.jpeg(64, 48), "image/jpeg"))])
            asset = r.json()["assets"][0]["id"]
            job = client.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": PIPELINE}).json()["id"]
            done = lambda: client.get(f"/api/v1/jobs/{job}").json()["status"] == "COMPLETED"  # noqa: E731
            wait_until(done, 60, "the job did not complete")
            assert value(scrape(url), "pixmill_jobs_total") is None  # the API's host saw no job run
        exported = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert value(exported, "pixmill_jobs_total", status="COMPLETED", operation="resize") == 1
        assert value(exported, "pixmill_job_queue_wait_seconds_count", operation="resize") == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
