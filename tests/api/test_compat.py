"""The PixTools-shaped API: existing clients work unchanged."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pixmill.app import create_app
from pixmill.db.models import Asset, Job
from pixmill.webhooks.service import signature
from tests import images
from tests.conftest import fetch, make_settings
from tests.webhook_sink import WebhookSink


def process(client: TestClient, operations: Any, params: Any = None, data: bytes | None = None, **form: str):
    fields: dict[str, str] = {"operations": operations if isinstance(operations, str) else json.dumps(operations)}
    if params is not None:
        fields["operation_params"] = params if isinstance(params, str) else json.dumps(params)
    fields.update(form)
    file = ("photo.jpg", data if data is not None else images.jpeg_with_exif(), "image/jpeg")
    return client.post("/api/process", data=fields, files={"file": file})


def wait(client: TestClient, job_id: str, final=("COMPLETED", "FAILED", "COMPLETED_WEBHOOK_FAILED")) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if body["status"] in final:
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {final}")


def test_process_all_formats_metadata_and_archive(client: TestClient) -> None:
    r = process(
        client,
        ["jpg", "png", "webp", "avif", "metadata"],
        {
            "jpg": {"quality": 70},
            "webp": {"quality": 60},
            "avif": {"quality": 50},
            "resize": {"width": 200, "height": 200},
        },
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "PENDING"
    job = wait(client, r.json()["job_id"])
    assert job["status"] == "COMPLETED", job
    assert job["operations"] == ["jpg", "png", "webp", "avif", "metadata"]
    assert set(job["result_urls"]) == {"jpg", "png", "webp", "avif", "metadata"}
    for op, fmt in (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"), ("avif", "AVIF")):
        im = images.decode(fetch(client, job["result_urls"][op]))
        assert im.format == fmt and im.size == (200, 150), (op, im.format, im.size)
    assert job["metadata"]["Make"] == "pixmill-test"
    meta = json.loads(fetch(client, job["result_urls"]["metadata"]))
    assert (meta["width"], meta["height"]) == (400, 300)
    archive = zipfile.ZipFile(io.BytesIO(fetch(client, job["archive_url"])))
    assert sorted(archive.namelist()) == ["avif.avif", "jpg.jpg", "metadata.json", "png.png", "webp.webp"]
    assert job["error_message"] is None and job["created_at"]


def test_bad_operations_and_params_are_422_with_a_reason(client: TestClient) -> None:
    cases = [
        ("[not json", None, "not valid JSON"),
        ('{"jpg": 1}', None, "non-empty JSON array"),
        ([], None, "non-empty JSON array"),
        (["gif"], None, "unknown operation"),
        (["jpg", "jpg"], None, "listed twice"),
        (["jpg"], "{broken", "not valid JSON"),
        (["jpg"], {"jpg": {"quality": 0}}, "greater than or equal to 1"),
        (["webp"], {"webp": {"quality": 101}}, "less than or equal to 100"),
        (["png"], {"png": {"quality": 80}}, "unknown parameter"),
        (["jpg"], {"resize": {"width": "wide"}}, "valid integer"),
        (["jpg"], {"jpg": {"qualty": 80}}, "unknown parameter"),
    ]
    for operations, params, message in cases:
        r = process(client, operations, params)
        assert r.status_code == 422, (operations, params, r.text)
        body = r.json()
        assert message in body["detail"] or any(message in e["message"] for e in body.get("errors", [])), body
    assert client.get("/api/v1/jobs").json()["total"] == 0


def test_process_refuses_non_images_by_content(client: TestClient) -> None:
    r = process(client, ["jpg"], data=b"GIF89a-not-really")
    assert r.status_code in (400, 415)
    r = process(client, ["jpg"], data=images.png_bomb())
    assert r.status_code == 413


def test_idempotency_key_gives_the_same_job_and_no_second_upload(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-42"}
    files = {"file": ("p.jpg", images.jpeg(), "image/jpeg")}
    a = client.post("/api/process", data={"operations": '["webp"]'}, files=files, headers=headers).json()
    b = client.post("/api/process", data={"operations": '["webp"]'}, files=files, headers=headers).json()
    assert a["job_id"] == b["job_id"]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 1
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def test_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/api/jobs/nope").status_code == 404


def test_denoise_fails_clearly_without_its_model(client: TestClient) -> None:
    job = wait(client, process(client, ["denoise", "png"]).json()["job_id"])
    assert job["status"] == "FAILED"
    assert "is not installed" in job["error_message"]


def test_denoise_with_the_model_gives_a_denoised_result_and_formats(ml_client: TestClient) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    mid = np.array([[[180, 70, 60], [70, 170, 80]], [[60, 80, 180], [128, 128, 128]]], dtype=np.float64)
    clean = mid.repeat(24, axis=0).repeat(32, axis=1)  # mid tones: the noise is not clipped away
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    from PIL import Image

    data = images.encode(Image.fromarray(noisy), "PNG")
    job = wait(ml_client, process(ml_client, ["denoise", "png"], data=data).json()["job_id"])
    assert job["status"] == "COMPLETED", job
    assert set(job["result_urls"]) == {"denoise", "png"}
    out = np.asarray(images.decode(fetch(ml_client, job["result_urls"]["png"])).convert("RGB"), dtype=np.float64)
    assert np.mean((out - clean) ** 2) < np.mean((noisy - clean) ** 2) / 3


def test_webhook_receives_the_final_status_signed(client: TestClient, settings) -> None:
    with WebhookSink() as sink:
        r = process(client, ["webp"], webhook_url=sink.url)
        job = wait(client, r.json()["job_id"])
        deadline = time.monotonic() + 10
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert job["status"] == "COMPLETED"
    (payload,) = sink.payloads()
    assert payload["job_id"] == job["job_id"] and payload["status"] == "COMPLETED"
    assert set(payload["result_urls"]) == {"webp"} and payload["error_message"] is None
    headers, body = sink.received[0]
    sig = headers["X-Pixmill-Signature"]
    timestamp = int(sig.split(",")[0][2:])
    assert sig == signature(settings.signing_key, timestamp, body)


def test_undeliverable_webhook_ends_completed_webhook_failed(client: TestClient) -> None:
    with WebhookSink(status=500) as sink:
        job = wait(
            client, process(client, ["png"], webhook_url=sink.url).json()["job_id"], final=("COMPLETED_WEBHOOK_FAILED",)
        )
        assert job["result_urls"]
        assert len(sink.received) == 3  # settings: 3 attempts


def test_private_webhook_targets_are_refused_unless_allowed(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, webhook_allow_private=False))) as c:
        for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
            r = process(c, ["png"], webhook_url=url)
            assert r.status_code == 422, url
            assert "private" in r.json()["detail"]
        r = process(c, ["png"], webhook_url="ftp://example.com/x")
        assert r.status_code == 422 and "http" in r.json()["detail"]
        assert c.get("/api/v1/jobs").json()["total"] == 0
