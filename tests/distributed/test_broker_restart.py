"""The broker goes down and comes back: queued jobs survive it, the API refuses new ones meanwhile (503), and the
worker and the API carry on afterwards without being restarted.

The node is one of the test's own (see servers.PrivateRabbit): the shared RabbitMQ is never stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import consumers, queue_depth, wait_until
from tests.distributed.servers import PrivateRabbit
from tests.principals import job_total

pytestmark = pytest.mark.distributed

RESIZE = [{"op": "resize", "params": {"width": 40}}, {"op": "convert", "params": {"format": "png"}}]


def _refused(client: TestClient, asset_id: str) -> None:
    """A submit while the broker is down: 503, and no job kept."""
    before = job_total(client)
    r = client.post("/api/v1/jobs", json={"inputs": [asset_id], "pipeline": RESIZE})
    assert r.status_code == 503, r.text
    assert "unreachable" in r.json()["detail"]
    assert job_total(client) == before
    assert client.get("/api/health").status_code == 503


def test_queued_jobs_complete_after_a_broker_restart_and_nothing_needs_restarting(
    tmp_path: Path, postgres_url: str, private_rabbit: PrivateRabbit, start_worker: Any
) -> None:
    settings = make_settings(
        tmp_path, database_url=postgres_url, broker_url=private_rabbit.url, runner="celery", workers=1
    )
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(160, 120)))
        queued = [submit(client, [asset["id"]], RESIZE)["id"] for _ in range(5)]
        assert queue_depth(private_rabbit.url, "standard") == 5  # no worker yet: they wait in the durable queue

        private_rabbit.stop()
        _refused(client, asset["id"])
        assert {client.get(f"/api/v1/jobs/{j}").json()["status"] for j in queued} == {"PENDING"}

        private_rabbit.start()  # on the same data directory
        assert queue_depth(private_rabbit.url, "standard") == 5
        worker = start_worker("standard", settings)
        for job_id in queued:
            job = wait_for(client, job_id)
            assert job["status"] == "COMPLETED", job
            assert [o["width"] for o in job["outputs"]] == [40]
        job = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])  # the same API publishes again
        assert job["status"] == "COMPLETED", job

        # Now with a worker connected: it must find the broker again by itself.
        private_rabbit.stop()
        _refused(client, asset["id"])
        private_rabbit.start()
        wait_until(lambda: consumers(private_rabbit.url, "standard") > 0, 90, "the worker never reconnected")
        job = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"], timeout=60)
        assert job["status"] == "COMPLETED", job
        assert worker.proc is not None and worker.proc.poll() is None  # the same worker process served it
        assert client.get("/api/health").status_code == 200
    print(f"private RabbitMQ node started in {', '.join(f'{s:.1f}' for s in private_rabbit.start_seconds)} s")
