"""The celery runner end to end: a real RabbitMQ (own vhost), PostgreSQL, and `pixmill worker` processes."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from kombu import Connection, Producer
from PIL import Image
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from pixmill.app import create_app
from pixmill.cli import app as cli
from pixmill.config import Settings
from pixmill.worker.celery_app import dead_queue, jobs_exchange
from tests import images
from tests.conftest import fetch, make_settings, submit, upload, wait_for
from tests.distributed.conftest import api_processes, log_records
from tests.principals import account, job_total

pytestmark = pytest.mark.distributed

RESIZE = [{"op": "resize", "params": {"width": 120}}, {"op": "convert", "params": {"format": "png"}}]


def _run(client: TestClient, data: bytes, pipeline: Any, timeout: float = 60) -> tuple[dict[str, Any], list[bytes]]:
    (asset,) = upload(client, ("q.jpg", data))
    job = wait_for(client, submit(client, [asset["id"]], pipeline)["id"], timeout=timeout)
    return job, [fetch(client, o["url"]) for o in job["outputs"]]


def _dead_count(broker_url: str) -> int:
    with Connection(broker_url) as conn:
        return int(dead_queue(conn.default_channel).queue_declare(passive=True).message_count)


def test_a_job_runs_on_a_worker_with_the_bytes_of_the_embedded_runner(
    tmp_path: Path, celery_settings: Settings, start_worker: Any
) -> None:
    data = images.jpeg(400, 300)
    with TestClient(create_app(make_settings(tmp_path / "embedded", workers=1))) as embedded:
        expected, expected_bytes = _run(embedded, data, RESIZE)
    assert expected["status"] == "COMPLETED"

    start_worker("standard")
    with TestClient(create_app(celery_settings)) as client:
        health = client.get("/api/health").json()
        assert health["dependencies"]["rabbitmq"] == "ok", health
        job, outputs = _run(client, data, RESIZE)
    assert job["status"] == "COMPLETED", job
    assert outputs == expected_bytes
    assert [o["width"] for o in job["outputs"]] == [120]


def test_a_worker_killed_mid_job_gets_the_job_back_after_restart(
    tmp_path: Path, celery_settings: Settings, start_worker: Any
) -> None:
    worker = start_worker("standard")
    slow = images.encode(images.noise(480, 360), "PNG")
    pipeline = [{"op": "convert", "params": {"format": "avif", "speed": 0, "quality": 90}}]
    with TestClient(create_app(celery_settings)) as client:
        (asset,) = upload(client, ("n.png", slow), content_type="image/png")
        job_id = submit(client, [asset["id"]], pipeline)["id"]
        deadline = time.monotonic() + 30
        while client.get(f"/api/v1/jobs/{job_id}").json()["status"] != "PROCESSING":
            assert time.monotonic() < deadline, "job never started"
            time.sleep(0.05)
        worker.kill()
        assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "PROCESSING"

        start_worker("standard")
        job = wait_for(client, job_id, timeout=90)
        assert job["status"] == "COMPLETED", job
        assert len(job["outputs"]) == 1 and job["outputs"][0]["format"] == "AVIF"
        assert images.decode(fetch(client, job["outputs"][0]["url"])).size == (480, 360)
    engine = create_engine(celery_settings.resolved_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT attempts FROM jobs WHERE id=:id"), {"id": job_id}).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM job_outputs WHERE job_id=:id"), {"id": job_id}).scalar() == 1
    engine.dispose()
    stored = [p for p in (celery_settings.resolved_storage_dir / "results").rglob("*") if p.is_file()]
    assert len(stored) == 1, stored


def test_a_poison_message_is_dead_lettered_and_the_worker_keeps_serving(
    celery_settings: Settings, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_worker("standard")
    with Connection(celery_settings.broker_url) as conn:
        Producer(conn.default_channel).publish(
            b"\xff\xfe{not json",
            exchange=jobs_exchange,
            routing_key="standard",
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
        )
    deadline = time.monotonic() + 20
    while _dead_count(celery_settings.broker_url) < 1:
        assert time.monotonic() < deadline, "the poison message never reached pixmill.dead"
        time.sleep(0.1)

    monkeypatch.setenv("PIXMILL_BROKER_URL", celery_settings.broker_url)
    listed = CliRunner().invoke(cli, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    assert "reason=rejected queue=standard" in listed.output
    assert "1 dead-lettered message(s)" in listed.output
    assert _dead_count(celery_settings.broker_url) == 1  # listing leaves them there

    with TestClient(create_app(celery_settings)) as client:  # the worker still serves
        job, _ = _run(client, images.jpeg(), RESIZE)
    assert job["status"] == "COMPLETED", job

    requeued = CliRunner().invoke(cli, ["dlq", "requeue"])
    assert requeued.exit_code == 0, requeued.output
    assert "requeued - onto standard" in requeued.output
    deadline = time.monotonic() + 20  # still poison: rejected again, and back in the dead-letter queue
    while "requeued=1" not in (out := CliRunner().invoke(cli, ["dlq", "list"]).output):
        assert time.monotonic() < deadline, out
        time.sleep(0.2)


def test_submitting_with_the_broker_unreachable_answers_503_and_keeps_no_job(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, runner="celery", broker_url="amqp://guest:guest@127.0.0.1:9//", workers=1)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg()))
        body = {"inputs": [asset["id"]], "pipeline": RESIZE}
        r = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["retry-after"] == "5"
        assert "unreachable" in r.json()["detail"]
        assert job_total(client) == 0
        r = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
        assert r.status_code == 503  # the key was released with the job: a retry tries again
        health = client.get("/api/health")
        assert health.status_code == 503
        assert health.json()["dependencies"]["rabbitmq"] == "unreachable"
    engine = create_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM idempotency_keys")).scalar() == 0
    engine.dispose()


def test_an_ml_worker_serves_the_ml_queue_one_job_at_a_time_in_a_pool_process(
    celery_settings: Settings, start_worker: Any
) -> None:
    worker = start_worker("ml")
    with TestClient(create_app(celery_settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg()))
        done = wait_for(client, submit(client, [asset["id"]], [{"op": "denoise"}])["id"])
    assert done["status"] == "FAILED", done  # it ran: no model is installed here
    assert "dncnn/dncnn_color_blind.pth" in done["error"] and "PIXMILL_MODELS_DIR" in done["error"]
    assert ".> concurrency: 1 (prefork)" in worker.log()  # a pool process: time limits apply to ml jobs too
    assert any(r.get("message") == "job started" and r.get("job_id") == done["id"] for r in log_records(worker.log()))


def test_renders_run_on_the_apis_own_pools_with_the_celery_runner(celery_settings: Settings) -> None:
    """Signed render URLs and previews are answered by the API process in either mode (no worker is running)."""
    with TestClient(create_app(celery_settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(400, 300)))
        ann = account(client, "ann@example.org")
        path = f"resize:width=80/png/{asset['id']}"
        url = client.post("/api/v1/render-urls", json={"path": path}, headers=ann.headers).json()["url"]
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(r.content)).size == (80, 60)


def test_serve_runs_several_api_processes_with_the_celery_runner(celery_settings: Settings) -> None:
    with api_processes(celery_settings, workers=2) as (proc, url):
        children = [d for d in Path("/proc").iterdir() if d.name.isdigit() and _ppid(d) == proc.pid and _is_python(d)]
        assert len(children) >= 2  # two API processes under uvicorn's supervisor
        health = httpx.get(f"{url}/api/health", timeout=10).json()
        assert health["dependencies"]["rabbitmq"] == "ok", health


def _ppid(proc_dir: Path) -> int:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _is_python(proc_dir: Path) -> bool:
    try:
        return b"python" in (proc_dir / "cmdline").read_bytes()
    except OSError:
        return False
