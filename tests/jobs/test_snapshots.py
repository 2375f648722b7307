"""Settled jobs are read from the cache (embedded or Redis), with signed URLs made per request, and forgotten on
any later change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from pixmill.app import create_app
from pixmill.context import Context
from pixmill.db.models import Job
from pixmill.jobs import service, snapshots, states
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.webhook_sink import WebhookSink

RESIZE = [{"op": "resize", "params": {"width": 10}}, {"op": "metadata"}]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cached_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    settings = request.getfixturevalue("redis_settings") if request.param == "redis" else make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        yield client


def _ctx(client: TestClient) -> Context:
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def _change_behind_the_cache(ctx: Context, job_id: str, **values: object) -> None:
    with ctx.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(**values))
        s.commit()


def test_a_finished_job_is_read_from_the_cache_with_fresh_urls(cached_client: TestClient) -> None:
    client, ctx = cached_client, _ctx(cached_client)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = submit(client, [asset["id"]], RESIZE)["id"]
    first = wait_for(client, job_id)
    assert first["status"] == "COMPLETED"
    assert ctx.cache.get(snapshots.cache_key(job_id)) is not None

    _change_behind_the_cache(ctx, job_id, error="changed in the database only")
    cached = client.get(f"/api/v1/jobs/{job_id}").json()
    assert cached["error"] is None  # served from the cache
    assert {k: v for k, v in cached.items() if k != "outputs"} == {k: v for k, v in first.items() if k != "outputs"}
    elsewhere = client.get(f"/api/v1/jobs/{job_id}", headers={"host": "other.example"}).json()
    assert elsewhere["outputs"][0]["url"].startswith("http://other.example/")  # URLs are signed per request
    assert first["outputs"][0]["url"].startswith("http://testserver/")
    compat = client.get(f"/api/jobs/{job_id}").json()  # the PixTools route reads through the cache too
    assert compat["error_message"] is None and compat["status"] == "COMPLETED"
    assert compat["result_urls"] == {}  # its one output is the metadata JSON: data, not a PixTools result file

    service.discard_job(ctx, job_id)  # any write forgets the entry
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_a_job_is_cached_only_once_settled_and_forgotten_when_its_webhook_changes(
    cached_client: TestClient,
) -> None:
    client, ctx = cached_client, _ctx(cached_client)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    with WebhookSink(status=200) as sink:
        job_id = submit(client, [asset["id"]], RESIZE, webhook_url=sink.url)["id"]
        done = wait_for(client, job_id)
    assert (done["status"], done["webhook"]["status"]) == ("COMPLETED", "delivered")
    assert ctx.cache.get(snapshots.cache_key(job_id)) is not None

    # A delivery is due again (as after a manual redelivery request); it fails this time.
    _change_behind_the_cache(ctx, job_id, webhook_status=states.WEBHOOK_PENDING)
    snapshots.forget(ctx, job_id)
    pending = client.get(f"/api/v1/jobs/{job_id}").json()
    assert pending["webhook"]["status"] == "pending"
    assert ctx.cache.get(snapshots.cache_key(job_id)) is None  # a pending webhook will change the job: not cached
    with WebhookSink(status=500) as refusing:
        _change_behind_the_cache(ctx, job_id, webhook_url=refusing.url)
        service.notify(ctx, job_id)
    after = client.get(f"/api/v1/jobs/{job_id}").json()
    assert (after["status"], after["webhook"]["status"]) == ("COMPLETED_WEBHOOK_FAILED", "failed")


def test_a_snapshot_restores_every_column_of_the_job_and_its_outputs(client: TestClient) -> None:
    ctx = _ctx(client)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])["id"]
    job = service.get_job(ctx, job_id)
    restored = snapshots.load(snapshots.dump(job))
    columns = Job.__table__.columns.keys()
    assert {c: getattr(restored, c) for c in columns} == {c: getattr(job, c) for c in columns}
    assert restored.started_at is not None and restored.started_at.tzinfo is not None
    assert len(restored.outputs) == len(job.outputs) >= 1
    for a, b in zip(restored.outputs, job.outputs, strict=True):
        assert (a.name, a.storage_key, a.width, a.media_type) == (b.name, b.storage_key, b.width, b.media_type)


def test_an_entry_never_outlives_its_job(client: TestClient) -> None:
    ctx = _ctx(client)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])["id"]
    snapshots.forget(ctx, job_id)
    job = service.get_job(ctx, job_id)
    job.expires_at = datetime.now(UTC) - timedelta(seconds=1)  # expired: nothing to cache
    snapshots.remember(ctx, job)
    assert ctx.cache.get(snapshots.cache_key(job_id)) is None


def test_a_failed_job_is_not_cached_since_dlq_requeue_may_reopen_it(cached_client: TestClient) -> None:
    client, ctx = cached_client, _ctx(cached_client)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = submit(client, [asset["id"]], [{"op": "denoise"}])["id"]  # no models directory: it fails
    failed = wait_for(client, job_id)
    assert failed["status"] == "FAILED", failed
    assert ctx.cache.get(snapshots.cache_key(job_id)) is None
    _change_behind_the_cache(ctx, job_id, status="PENDING", error=None)  # what reopening a job does
    assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "PENDING"
