"""ML work runs on its own pool: a long model job never starves standard work."""

from __future__ import annotations

import time

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from tests import images
from tests.conftest import submit, upload, wait_for


def test_a_standard_job_finishes_while_a_model_job_runs(ml_client: TestClient) -> None:
    rng = np.random.default_rng(1)
    big = Image.fromarray(rng.integers(0, 255, (900, 1200, 3), dtype=np.uint8))
    slow, quick = upload(ml_client, ("big.png", images.encode(big, "PNG")), ("q.jpg", images.jpeg(400, 300)))
    ml_job = submit(ml_client, [slow["id"]], [{"op": "denoise"}, {"op": "convert", "params": {"format": "png"}}])
    deadline = time.monotonic() + 60
    while ml_client.get(f"/api/v1/jobs/{ml_job['id']}").json()["status"] != "PROCESSING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    standard = wait_for(ml_client, submit(ml_client, [quick["id"]], [{"op": "resize", "params": {"width": 50}}])["id"])
    assert standard["status"] == "COMPLETED"
    assert ml_client.get(f"/api/v1/jobs/{ml_job['id']}").json()["status"] == "PROCESSING"
    done = wait_for(ml_client, ml_job["id"], timeout=300)
    assert done["status"] == "COMPLETED", done
    assert done["outputs"][0]["width"] == 1200


def test_detect_job_reports_faces_as_metadata(ml_client: TestClient) -> None:
    from tests.conftest import SHARED

    photo = (SHARED / "testsets" / "faces" / "face_01.png").read_bytes()
    (asset,) = upload(ml_client, ("face.png", photo), content_type="image/png")
    done = wait_for(ml_client, submit(ml_client, [asset["id"]], [{"op": "detect", "params": {"kind": "faces"}}])["id"])
    assert done["status"] == "COMPLETED", done
    detections = done["metadata"]["inputs"][0]["result"]["detections"]
    assert detections and all(d["label"] == "face" for d in detections)
