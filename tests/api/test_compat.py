"""The PixTools-shaped API: the requests PixTools' web page and API accept, answered as PixTools answers them."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
import zipfile
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from pixmill import pixtools as shape
from pixmill.app import create_app
from pixmill.db.models import Asset, Job
from pixmill.webhooks.service import signature
from tests import images
from tests.api import pixtools_client as page
from tests.conftest import fetch, make_settings, submit, upload, wait_for
from tests.principals import account, job_total
from tests.webhook_sink import WebhookSink

FINAL = ("COMPLETED", "FAILED", "COMPLETED_WEBHOOK_FAILED")
UUID_DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def click(
    client: TestClient, ticked: set[str], data: bytes, filename: str, media_type: str, **controls: str
) -> dict[str, Any]:
    """One click on PixTools' PROCESS button: the page's exact request; returns the 202 body."""
    r = client.post(
        "/api/process",
        data=page.form(ticked, **controls),
        files={"file": (filename, data, media_type)},
        headers=page.headers(),
    )
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"job_id", "status"} and UUID_DASHED.match(body["job_id"]), body
    return body


def process(client: TestClient, operations: Any, params: Any = None, data: bytes | None = None, **form: str):
    fields: dict[str, str] = {"operations": operations if isinstance(operations, str) else json.dumps(operations)}
    if params is not None:
        fields["operation_params"] = params if isinstance(params, str) else json.dumps(params)
    fields.update(form)
    file = ("photo.jpg", data if data is not None else images.jpeg_with_exif(), "image/jpeg")
    return client.post("/api/process", data=fields, files={"file": file})


def wait(client: TestClient, job_id: str, final: tuple[str, ...] = FINAL) -> dict[str, Any]:
    """Poll as the page does, until the job is final and, with result files, its archive is there."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = client.get(f"/api/jobs/{job_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in final and (body["archive_url"] or not body["result_urls"] or body["status"] == "FAILED"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {final}")


def suggested_name(client: TestClient, url: str) -> str:
    """The file name a browser saves the URL's download under (Content-Disposition)."""
    r = client.get(url)
    assert r.status_code == 200, r.text
    header = Message()
    header["content-disposition"] = r.headers["content-disposition"]
    name = header.get_filename()
    assert name, r.headers
    return name


def test_typed_resize_and_quality_slider_give_the_sized_results_named_as_pixtools_names_them(
    client: TestClient,
) -> None:
    job = click(
        client,
        {"jpg", "webp", "avif"},
        images.png(400, 300),
        "beach day.png",
        "image/png",
        quality="35",
        width="300",
        height="300",
    )
    assert job["status"] == "PENDING"
    done = wait(client, job["job_id"])
    assert done["status"] == "COMPLETED", done
    assert done["job_id"] == job["job_id"] and done["operations"] == ["jpg", "webp", "avif"]
    assert set(done["result_urls"]) == {"jpg", "webp", "avif"}
    for op, fmt in (("jpg", "JPEG"), ("webp", "WEBP"), ("avif", "AVIF")):
        im = images.decode(fetch(client, done["result_urls"][op]))
        assert (im.format, im.size) == (fmt, (300, 300)), op  # both sides typed: exactly that size, as PixTools
        assert suggested_name(client, done["result_urls"][op]) == f"pixtools_{op}_beach day.{op}"
    jpg = images.decode(fetch(client, done["result_urls"]["jpg"]))
    reference = images.decode(images.encode(Image.new("RGB", (300, 300)), "JPEG", quality=35))
    assert jpg.quantization == reference.quantization  # type: ignore[attr-defined]  # the slider's quality
    assert done["metadata"] == {} and done["error_message"] is None
    assert suggested_name(client, done["archive_url"]) == "pixtools_bundle_beach day.zip"
    archive = zipfile.ZipFile(io.BytesIO(fetch(client, done["archive_url"])))
    assert sorted(archive.namelist()) == [
        "pixtools_avif_beach day.avif",
        "pixtools_jpg_beach day.jpg",
        "pixtools_webp_beach day.webp",
    ]
    assert archive.read("pixtools_jpg_beach day.jpg") == fetch(client, done["result_urls"]["jpg"])


def test_one_typed_side_keeps_the_aspect_and_may_enlarge_up_to_pixtools_limits(client: TestClient) -> None:
    done = wait(
        client, click(client, {"png", "webp"}, images.jpeg(400, 300), "p.jpg", "image/jpeg", width="200")["job_id"]
    )
    assert images.decode(fetch(client, done["result_urls"]["png"])).size == (200, 150)
    done = wait(client, click(client, {"png"}, images.jpeg(400, 300), "p.jpg", "image/jpeg", height="600")["job_id"])
    assert images.decode(fetch(client, done["result_urls"]["png"])).size == (800, 600)
    done = wait(client, click(client, {"png"}, images.jpeg(40, 30), "p.jpg", "image/jpeg", width="5000")["job_id"])
    assert images.decode(fetch(client, done["result_urls"]["png"])).size == (1920, 1440)  # width capped at 1920
    done = wait(
        client,
        click(client, {"webp"}, images.jpeg(40, 30), "p.jpg", "image/jpeg", width="12.9", height="9000")["job_id"],
    )
    assert images.decode(fetch(client, done["result_urls"]["webp"])).size == (12, 1080)  # int(); height capped


def test_metadata_is_the_exif_summary_and_never_a_result_file(client: TestClient) -> None:
    done = wait(
        client, click(client, {"png", "metadata"}, images.camera_jpeg(), "DSCF0042.JPG", "image/jpeg")["job_id"]
    )
    assert done["status"] == "COMPLETED"
    assert done["metadata"] == {
        "camera_make": "Fujifilm",
        "camera_model": "X-T5",
        "lens_model": "XF23mmF1.4 R LM WR",
        "captured_at": "2026:05:04 10:11:12",
        "exposure_time": "1/250s",
        "aperture": "f/2.8",
        "iso": 400,
        "gps": {"latitude": 52.51, "longitude": -1.25},
    }
    assert list(done["result_urls"]) == ["png"]  # the page draws one card per result URL
    assert zipfile.ZipFile(io.BytesIO(fetch(client, done["archive_url"]))).namelist() == ["pixtools_png_DSCF0042.png"]

    only = wait(client, click(client, {"metadata"}, images.jpeg_with_exif(), "a.jpg", "image/jpeg")["job_id"])
    assert only["status"] == "COMPLETED"
    assert (only["result_urls"], only["archive_url"]) == ({}, None)  # nothing to download, as PixTools
    assert only["metadata"] == {"camera_make": "pixmill-test"}
    plain = wait(client, click(client, {"metadata"}, images.png(), "a.png", "image/png")["job_id"])
    assert plain["metadata"] == {} and plain["status"] == "COMPLETED"


def test_denoise_runs_beside_the_conversions_and_downloads_as_png(ml_client: TestClient) -> None:
    rng = np.random.default_rng(0)
    mid = np.array([[[180, 70, 60], [70, 170, 80]], [[60, 80, 180], [128, 128, 128]]], dtype=np.float64)
    clean = mid.repeat(24, axis=0).repeat(32, axis=1)  # mid tones: the noise is not clipped away
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    data = images.encode(Image.fromarray(noisy), "PNG")
    job = click(ml_client, {"denoise", "webp", "metadata"}, data, "grainy.png", "image/png", quality="100")
    done = wait(ml_client, job["job_id"])
    assert done["status"] == "COMPLETED", done
    assert set(done["result_urls"]) == {"denoise", "webp"}
    assert suggested_name(ml_client, done["result_urls"]["denoise"]) == "pixtools_denoise_grainy.png"
    denoised = images.decode(fetch(ml_client, done["result_urls"]["denoise"]))
    assert denoised.format == "PNG"

    def mse(im: Image.Image) -> float:
        return float(np.mean((np.asarray(im.convert("RGB"), dtype=np.float64) - clean) ** 2))

    assert mse(denoised) < mse(Image.fromarray(noisy)) / 3
    webp = images.decode(fetch(ml_client, done["result_urls"]["webp"]))
    assert mse(webp) > mse(denoised) * 2  # the conversion is of the upload, as in PixTools, not of the denoised image
    names = zipfile.ZipFile(io.BytesIO(fetch(ml_client, done["archive_url"]))).namelist()
    assert sorted(names) == ["pixtools_denoise_grainy.png", "pixtools_webp_grainy.webp"]


def test_denoise_resized_first_when_a_side_is_typed(ml_client: TestClient) -> None:
    job = click(ml_client, {"denoise"}, images.png(96, 64), "x.png", "image/png", width="48")
    done = wait(ml_client, job["job_id"])
    assert images.decode(fetch(ml_client, done["result_urls"]["denoise"])).size == (48, 32)


def test_denoise_fails_clearly_without_its_model(client: TestClient) -> None:
    done = wait(client, click(client, {"denoise", "png"}, images.jpeg(), "p.jpg", "image/jpeg")["job_id"])
    assert done["status"] == "FAILED"
    assert "is not installed" in done["error_message"]
    assert (done["result_urls"], done["archive_url"]) == ({}, None)


def test_webhook_typed_on_the_page_receives_the_final_status_signed(client: TestClient, settings) -> None:
    with WebhookSink() as sink:
        job = click(client, {"webp", "metadata"}, images.jpeg(), "cat.jpg", "image/jpeg", webhook_url=sink.url)
        done = wait(client, job["job_id"])
        deadline = time.monotonic() + 10
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert done["status"] == "COMPLETED"
    (payload,) = sink.payloads()
    assert payload["job_id"] == job["job_id"] and payload["status"] == "COMPLETED"
    assert set(payload["result_urls"]) == {"webp"} and payload["error_message"] is None
    query = parse_qs(urlsplit(payload["result_urls"]["webp"]).query)
    assert query["filename"] == ["pixtools_webp_cat.webp"]
    headers, body = sink.received[0]
    sig = headers["X-Pixmill-Signature"]
    timestamp = int(sig.split(",")[0][2:])
    assert sig == signature(settings.signing_key, timestamp, body)


def test_undeliverable_webhook_ends_completed_webhook_failed(client: TestClient) -> None:
    with WebhookSink(status=500) as sink:
        job = click(client, {"png"}, images.jpeg(), "p.jpg", "image/jpeg", webhook_url=sink.url)
        done = wait(client, job["job_id"], final=("COMPLETED_WEBHOOK_FAILED",))
        assert done["result_urls"] and done["archive_url"]
        assert len(sink.received) == 3  # settings: 3 attempts


def test_job_ids_are_dashed_uuids_and_either_form_finds_the_job(client: TestClient) -> None:
    job_id = click(client, {"png"}, images.jpeg(), "p.jpg", "image/jpeg")["job_id"]
    wait(client, job_id)
    for form in (job_id, job_id.replace("-", ""), job_id.upper()):
        r = client.get(f"/api/jobs/{form}")
        assert r.status_code == 200 and r.json()["job_id"] == job_id, form
    missing = str(uuid.uuid4())
    r = client.get(f"/api/jobs/{missing}")
    assert (r.status_code, r.headers["content-type"]) == (404, "application/json")
    assert r.json() == {"detail": f"Job {missing} not found"}
    r = client.get("/api/jobs/nope")
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
    assert isinstance(r.json()["detail"], str) and "UUID" in r.json()["detail"]


def test_pixtools_own_api_key_is_ignored_and_a_pixmill_key_makes_the_job_its_accounts(client: TestClient) -> None:
    files = {"file": ("p.jpg", images.jpeg(), "image/jpeg")}
    r = client.post("/api/process", data={"operations": '["png"]'}, files=files, headers={"X-API-Key": "pixtools"})
    assert r.status_code == 202, r.text  # PixTools' page sends a key of its own: anonymous, as before
    assert client.get(f"/api/jobs/{r.json()['job_id']}").status_code == 200
    ann, bob = account(client, "ann@example.org"), account(client, "bob@example.org")
    r = client.post("/api/process", data={"operations": '["png"]'}, files=files, headers={"X-API-Key": ann.token})
    job_id = r.json()["job_id"]
    assert r.status_code == 202 and client.get(f"/api/jobs/{job_id}", headers=ann.headers).status_code == 200
    missing = str(uuid.uuid4())
    for who in ({}, bob.headers):  # Ann's job is hers: to anyone else it is as missing as a random id
        r = client.get(f"/api/jobs/{job_id}", headers=who)
        assert r.status_code == 404 and r.json() == {"detail": f"Job {job_id} not found"}
    assert client.get(f"/api/jobs/{missing}", headers=bob.headers).json() == {"detail": f"Job {missing} not found"}
    r = client.post("/api/process", data={"operations": '["png"]'}, files=files, headers={"X-API-Key": "pmk_forged"})
    assert r.status_code == 401 and isinstance(r.json()["detail"], str)  # a pixmill key that is wrong is refused


# (operations, operation_params, status, words in the string detail): PixTools' rules and status codes.
REFUSED: list[tuple[Any, Any, int, str]] = [
    ("[not json", None, 422, "operations is not valid JSON"),
    ('{"jpg": 1}', None, 422, "must be a JSON array"),
    ('"jpg"', None, 422, "must be a JSON array"),
    ([], None, 422, "at least one operation"),
    (["gif"], None, 422, "unknown operation"),
    (["jpg", 3], None, 422, "unknown operation"),
    (["jpg"], "{broken", 422, "operation_params is not valid JSON"),
    (["jpg"], "[1]", 422, "must be a JSON object"),
    (["jpg"], {"jpg": 80}, 422, "operation_params['jpg'] must be an object"),
    (["jpg"], {"jpg": {"quality": 0}}, 422, "quality must be 1..100"),
    (["webp"], {"webp": {"quality": 101}}, 422, "quality must be 1..100"),
    (["webp"], {"webp": {"quality": "high"}}, 422, "quality must be an integer"),
    (["webp"], {"webp": {"quality": [80]}}, 422, "quality must be an integer"),
    (["png"], {"png": {"quality": 80}}, 422, "quality is only supported for jpg/webp/avif"),
    (["denoise"], {"denoise": {"quality": 80}}, 422, "quality is only supported"),
    (
        ["metadata"],
        {"metadata": {"resize": {"width": 10}}},
        422,
        "resize is only supported for jpg/png/webp/avif/denoise",
    ),
    (["jpg"], {"jpg": {"resize": [300, 300]}}, 422, "resize must be an object"),
    (["jpg"], {"jpg": {"resize": {}}}, 422, "resize requires width or height"),
    (["jpg"], {"jpg": {"resize": {"width": None, "height": None}}}, 422, "requires width or height"),
    (["jpg"], {"jpg": {"resize": {"width": 0}}}, 422, "resize.width must be > 0"),
    (["png"], {"png": {"resize": {"height": -5}}}, 422, "resize.height must be > 0"),
    (["png"], {"png": {"resize": {"width": "wide"}}}, 422, "resize.width must be an integer"),
    (["png"], {"png": {"resize": {"width": 1e400}}}, 422, "resize.width must be an integer"),
    (["png"], {"resize": {"width": "wide"}}, 422, "operation_params['resize'].width: Input should be a valid integer"),
    (["png"], {"resize": {"depth": 3}}, 422, "unknown key"),
]


def test_refused_requests_get_pixtools_status_and_a_string_detail_as_application_json(client: TestClient) -> None:
    for operations, params, status, words in REFUSED:
        r = process(client, operations, params)
        assert r.status_code == status, (operations, params, r.text)
        assert r.headers["content-type"] == "application/json", r.headers
        body = r.json()
        assert isinstance(body["detail"], str) and words in body["detail"], (operations, params, body)
    r = process(client, ["png"], webhook_url="ftp://example.com/x")
    assert (r.status_code, r.headers["content-type"]) == (422, "application/json") and "http" in r.json()["detail"]
    r = client.post("/api/process", data={"operation_params": "{}"}, files={"file": ("a.jpg", images.jpeg())})
    assert r.status_code == 422 and isinstance(r.json()["detail"], str) and "operations" in r.json()["detail"]
    assert job_total(client) == 0


def test_operations_nested_too_deep_are_422_json_not_a_crash(client: TestClient) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for fields in ({"operations": deep}, {"operations": '["png"]', "operation_params": '{"a":' * 100_000}):
        r = client.post("/api/process", data=fields, files={"file": ("a.jpg", images.jpeg())})
        assert (r.status_code, r.headers["content-type"]) == (422, "application/json"), r.text
        assert "nested more than 64 levels deep" in r.json()["detail"]


def test_what_pixtools_accepts_and_ignores_is_accepted(client: TestClient) -> None:
    accepted: list[tuple[Any, Any]] = [
        (["jpg"], {"png": {"quality": 80}}),  # params of an operation not asked for: ignored
        (["jpg"], {"jpg": {"qualty": 5, "quality": None}}),  # unknown and null keys: ignored
        (["jpg", "jpg"], None),  # a repeat: recorded as given, run once
        (["webp"], {"webp": {"quality": "80"}}),  # int("80")
        (["webp"], {"webp": {"quality": 79.9, "resize": {"width": "64"}}}),  # int(79.9), int("64")
        (["jpg"], ""),
    ]
    for operations, params in accepted:
        r = process(client, operations, params, webhook_url="")
        assert r.status_code == 202, (operations, params, r.text)
        done = wait(client, r.json()["job_id"])
        assert done["status"] == "COMPLETED" and done["operations"] == operations, done
        assert set(done["result_urls"]) == set(operations)


def test_pixmill_additions_avif_quality_and_a_shared_resize(client: TestClient) -> None:
    params = {"resize": {"width": 200, "height": 200}, "avif": {"quality": 40}, "webp": {"resize": {"width": 50}}}
    done = wait(client, process(client, ["png", "webp", "avif"], params).json()["job_id"])
    assert done["status"] == "COMPLETED", done
    assert images.decode(fetch(client, done["result_urls"]["png"])).size == (200, 150)  # fit, never enlarged
    assert images.decode(fetch(client, done["result_urls"]["avif"])).size == (200, 150)
    assert images.decode(fetch(client, done["result_urls"]["webp"])).size == (50, 38)  # its own resize wins


def test_uploads_that_are_not_images_are_400_and_bombs_413_as_json(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, max_request_bytes=200_000))) as c:
        r = process(c, ["png"], data=b"GIF89a-not-really")
        assert (r.status_code, r.headers["content-type"]) == (400, "application/json")
        assert r.json()["detail"].startswith("Unsupported file type")
        r = process(c, ["png"], data=images.png_bomb())
        assert (r.status_code, r.headers["content-type"]) == (413, "application/json")
        assert isinstance(r.json()["detail"], str)
        r = process(c, ["png"], data=b"\xff" * 300_000)  # over the request limit: refused by the middleware
        assert (r.status_code, r.headers["content-type"]) == (413, "application/json")
        assert "over the limit" in r.json()["detail"]
        r = c.get("/api/v1/jobs/nope")  # the v1 API keeps its problem JSON
        assert r.headers["content-type"] == "application/problem+json" and r.json()["title"] == "Job not found"


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


def test_an_idempotency_key_reused_with_another_file_or_fields_is_422_json(client: TestClient) -> None:
    headers = {"Idempotency-Key": "order-43"}
    photo = images.jpeg(64, 48)

    def send(data: bytes = photo, name: str = "p.jpg", operations: str = '["webp"]', **form: str) -> Any:
        files = {"file": (name, data, "image/jpeg")}
        return client.post("/api/process", data={"operations": operations, **form}, files=files, headers=headers)

    first = send()
    assert first.status_code == 202, first.text
    for changed in (
        send(data=images.jpeg(64, 49)),  # other bytes
        send(name="other.jpg"),  # the name shapes the download names
        send(operations='["jpg"]'),
        send(operation_params='{"webp": {"quality": 50}}'),
    ):
        assert (changed.status_code, changed.headers["content-type"]) == (422, "application/json"), changed.text
        assert "already used with a different request" in changed.json()["detail"]
        assert first.json()["job_id"] in changed.json()["detail"]
    again = send(operations='[ "webp" ]', operation_params='{"webp": {}}')  # the same request, spelled differently
    assert again.status_code == 202 and again.json()["job_id"] == first.json()["job_id"]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset)) == 1
        assert s.scalar(select(func.count()).select_from(Job)) == 1


def test_private_webhook_targets_are_refused_unless_allowed(tmp_path) -> None:
    with TestClient(create_app(make_settings(tmp_path, webhook_allow_private=False))) as c:
        for url in ("http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"):
            r = process(c, ["png"], webhook_url=url)
            assert r.status_code == 422, url
            assert "private" in r.json()["detail"]
        assert job_total(c) == 0


def test_download_names_follow_pixtools_and_stay_within_the_limit() -> None:
    assert shape.download_name("jpg", "holiday.2026.PNG", "jpg") == "pixtools_jpg_holiday.2026.jpg"
    assert shape.download_name("png", "README", "png") == "pixtools_png_README.png"
    assert shape.download_name("png", None, "png") == "pixtools_png_image.png"
    assert shape.archive_name("a\x01b.jpg") == "pixtools_bundle_a_b.zip"
    long = shape.download_name("webp", "x" * 300 + ".jpg", "webp")
    assert len(long) == shape.MAX_NAME and long.startswith("pixtools_webp_xxx") and long.endswith(".webp")


def test_exif_summary_keys_and_formats() -> None:
    assert shape.pixtools_metadata({}) == {}
    assert shape.pixtools_metadata({"ExposureTime": 2, "FNumber": 4, "PhotographicSensitivity": [800, 0]}) == {
        "exposure_time": "2.0000s",
        "aperture": "f/4.0",
        "iso": 800,
    }
    assert shape.pixtools_metadata({"ExposureTime": 1 / 3, "GPSLatitude": [1, 30, 0], "GPSLatitudeRef": "S"}) == {
        "exposure_time": "1/3s",
        "gps": {"latitude": -1.5, "longitude": None},
    }
    # a blank make is kept blank, as PixTools keeps it
    assert shape.pixtools_metadata({"Make": "  ", "ExposureTime": None, "GPSLatitude": [1, 2]}) == {"camera_make": ""}


def test_a_failed_job_calls_the_webhook_with_its_dashed_id_and_no_results(client: TestClient) -> None:
    with WebhookSink() as sink:
        job = click(client, {"denoise"}, images.jpeg(), "p.jpg", "image/jpeg", webhook_url=sink.url)
        done = wait(client, job["job_id"])
        deadline = time.monotonic() + 10
        while not sink.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert done["status"] == "FAILED"
    (payload,) = sink.payloads()
    assert payload["job_id"] == job["job_id"] and payload["status"] == "FAILED"
    assert payload["result_urls"] == {} and "is not installed" in payload["error_message"]


def test_a_v1_job_with_several_inputs_reads_here_one_url_per_input(client: TestClient) -> None:
    assets = upload(client, ("first.jpg", images.jpeg()), ("second.png", images.png()))
    pipeline = {"nodes": [{"id": "small", "op": "resize", "params": {"width": 20}, "output": "small"}]}
    job = submit(client, [a["id"] for a in assets], pipeline)
    wait_for(client, job["id"])
    view = client.get(f"/api/jobs/{job['id']}").json()
    assert view["job_id"] == str(uuid.UUID(job["id"])) and view["archive_url"] is None  # v1 jobs make no ZIP
    names = {k: parse_qs(urlsplit(u).query)["filename"][0] for k, u in view["result_urls"].items()}
    assert names == {"small-0": "pixtools_small_first.jpg", "small-1": "pixtools_small_second.png"}
