"""Expiry in celery mode: the task `pixmill.expire` runs on a worker, sent every cleanup interval by
`pixmill beat`; the API process no longer sweeps by itself."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.worker.celery_app import make_celery
from pixmill.worker.registry import EXPIRE
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import db_rows, log_records, wait_until, worker_env

pytestmark = pytest.mark.distributed

RESIZE = [{"op": "resize", "params": {"width": 40}}]
RETENTION_H = 0.001  # 3.6 s


def _settings(tmp_path: Path, postgres_url: str, broker_url: str, cleanup_interval_s: float) -> Settings:
    return make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        runner="celery",
        workers=1,
        retention_hours=RETENTION_H,
        cleanup_interval_s=cleanup_interval_s,
    )


def _expired_job(client: TestClient) -> dict[str, Any]:
    """A completed job, returned once it is past its expiry."""
    (asset,) = upload(client, ("q.jpg", images.jpeg(160, 120)))
    job = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])
    assert job["status"] == "COMPLETED", job
    time.sleep(max(0.0, datetime.fromisoformat(job["expires_at"]).timestamp() - time.time()) + 0.2)
    return job


def _stored(settings: Settings) -> list[Path]:
    return [p for p in settings.resolved_storage_dir.rglob("*") if p.is_file()]


def _rows(settings: Settings) -> tuple[int, int]:
    ((jobs,),) = db_rows(settings, "SELECT count(*) FROM jobs")
    ((assets,),) = db_rows(settings, "SELECT count(*) FROM assets")
    return jobs, assets


def test_the_expire_task_on_a_worker_deletes_expired_jobs_and_their_files(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any
) -> None:
    settings = _settings(tmp_path, postgres_url, broker_url, cleanup_interval_s=0.2)
    worker = start_worker("standard", settings)
    with TestClient(create_app(settings)) as client:
        _expired_job(client)
        time.sleep(1.0)  # five cleanup intervals: an API that swept by itself would have deleted it by now
        assert _rows(settings) == (1, 1)
        assert len(_stored(settings)) == 2  # the upload and the result

        app = make_celery(settings)
        try:
            app.tasks[EXPIRE].apply_async()
        finally:
            app.close()
        wait_until(lambda: _rows(settings) == (0, 0), 30, "the expired job and asset are still there")
    assert _stored(settings) == []
    done = [r for r in log_records(worker.log()) if str(r.get("message", "")).startswith("Task pixmill.expire[")]
    assert "succeeded" in done[-1]["message"] and done[-1]["message"].endswith(": 2"), done


def test_pixmill_beat_sends_the_expire_task_every_cleanup_interval(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any
) -> None:
    settings = _settings(tmp_path, postgres_url, broker_url, cleanup_interval_s=1.0)
    worker = start_worker("standard", settings)
    with TestClient(create_app(settings)) as client:
        _expired_job(client)
    assert _rows(settings) == (1, 1)

    beat_log = tmp_path / "beat.log"
    with beat_log.open("wb") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "pixmill", "beat"],
            env=worker_env(settings),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: _rows(settings) == (0, 0), 60, "beat's expiry never ran")

        def runs() -> int:
            return sum(
                str(r.get("message", "")).startswith("Task pixmill.expire[") and "succeeded" in r["message"]
                for r in log_records(worker.log())
            )

        wait_until(lambda: runs() >= 3, 30, "the expiry task does not come back every interval")
        assert beat.poll() is None, beat_log.read_text()
    finally:
        beat.send_signal(signal.SIGTERM)
        try:
            beat.wait(timeout=20)
        except subprocess.TimeoutExpired:
            beat.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(beat.pid, signal.SIGKILL)
    assert "Sending due task expire (pixmill.expire)" in beat_log.read_text()
    assert _stored(settings) == []
