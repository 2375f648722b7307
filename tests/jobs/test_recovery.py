"""Jobs left unfinished when the server stopped are picked up at the next start; none is lost."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from pixmill.app import create_app
from pixmill.context import Context
from pixmill.db.session import upgrade
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.jobs import service
from tests import images
from tests.conftest import make_settings, wait_for
from tests.live import LiveServer


def test_pending_and_processing_jobs_are_resumed_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ctx = Context.from_settings(settings)
    upgrade(ctx.engine)
    from pixmill.assets.service import prepare_asset, save_assets

    (asset,) = save_assets(ctx, [prepare_asset(ctx, "q.jpg", images.jpeg(200, 100))])
    pipeline = parse_pipeline([{"op": "resize", "params": {"width": 50}}])
    ids = []
    for _ in range(3):
        job, _ = service.create_job(ctx, pipeline=pipeline, input_ids=[asset.id], base_url="http://x", request_id=None)
        ids.append(job.id)
    with ctx.session() as s:  # one was mid-flight when the "server" died
        s.execute(text("UPDATE jobs SET status='PROCESSING', attempts=1 WHERE id=:id"), {"id": ids[0]})
        s.commit()
    ctx.close()

    with TestClient(create_app(settings)) as client:
        done = [wait_for(client, i) for i in ids]
    assert [d["status"] for d in done] == ["COMPLETED"] * 3
    assert all(len(d["outputs"]) == 1 and d["outputs"][0]["width"] == 50 for d in done)


def test_a_job_that_keeps_killing_its_worker_is_failed_not_retried_forever(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    ctx = Context.from_settings(settings)
    upgrade(ctx.engine)
    from pixmill.assets.service import prepare_asset, save_assets

    (asset,) = save_assets(ctx, [prepare_asset(ctx, "q.jpg", images.jpeg(20, 10))])
    pipeline = parse_pipeline([{"op": "resize", "params": {"width": 5}}])
    job, _ = service.create_job(ctx, pipeline=pipeline, input_ids=[asset.id], base_url="http://x", request_id=None)
    with ctx.session() as s:
        s.execute(text("UPDATE jobs SET status='PROCESSING', attempts=3 WHERE id=:id"), {"id": job.id})
        s.commit()
    ctx.close()
    with TestClient(create_app(settings)) as client:
        done = wait_for(client, job.id)
    assert done["status"] == "FAILED"
    assert "gave up after 3 attempts" in done["error"]


@pytest.mark.live
def test_server_killed_mid_job_finishes_it_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, tmp_path / "server.log").start()
    try:
        slow = images.encode(images.noise(480, 360), "PNG")
        up = httpx.post(f"{server.url}/api/v1/uploads", files={"files": ("n.png", slow, "image/png")}).json()
        pipeline = [{"op": "convert", "params": {"format": "avif", "speed": 0, "quality": 90}}]
        r = httpx.post(f"{server.url}/api/v1/jobs", json={"inputs": [up["assets"][0]["id"]], "pipeline": pipeline})
        job_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/v1/jobs/{job_id}").json()["status"] != "PROCESSING":
            assert time.monotonic() < deadline, "job never started"
            time.sleep(0.05)
        server.kill()
    finally:
        server.stop()
    engine = create_engine(f"sqlite:///{data_dir.resolve() / 'pixmill.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM jobs WHERE id=:id"), {"id": job_id}).scalar() == "PROCESSING"
    engine.dispose()

    server = LiveServer(data_dir, tmp_path / "server.log").start()
    try:
        deadline = time.monotonic() + 120
        while (job := httpx.get(f"{server.url}/api/v1/jobs/{job_id}").json())["status"] in ("PENDING", "PROCESSING"):
            assert time.monotonic() < deadline, "job never finished after restart"
            time.sleep(0.2)
        assert job["status"] == "COMPLETED", job
        assert job["outputs"][0]["format"] == "AVIF"
        assert images.decode(httpx.get(job["outputs"][0]["url"]).content).size == (480, 360)
    finally:
        server.stop()


@pytest.mark.live
def test_request_id_is_on_every_log_line_of_the_request_and_its_job(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    server = LiveServer(tmp_path / "data", log_path).start()
    try:
        up = httpx.post(
            f"{server.url}/api/v1/uploads",
            files={"files": ("q.jpg", images.jpeg(), "image/jpeg")},
            headers={"X-Request-ID": "upload-rid-7"},
        )
        assert up.headers["x-request-id"] == "upload-rid-7"
        body = {"inputs": [up.json()["assets"][0]["id"]], "pipeline": [{"op": "resize", "params": {"width": 9}}]}
        r = httpx.post(f"{server.url}/api/v1/jobs", json=body, headers={"X-Request-ID": "job-rid-8"})
        job_id = r.json()["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/v1/jobs/{job_id}").json()["status"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        server.stop()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    job_lines = [entry for entry in lines if entry.get("job_id") == job_id]
    assert {"job started", "job completed"} <= {entry["message"] for entry in job_lines}
    assert all(entry.get("request_id") == "job-rid-8" for entry in job_lines)
    request_lines = [entry for entry in lines if entry.get("path") == "/api/v1/jobs" and entry.get("method") == "POST"]
    assert request_lines and all(entry["request_id"] == "job-rid-8" for entry in request_lines)
    assert any(entry.get("request_id") == "upload-rid-7" for entry in lines)
