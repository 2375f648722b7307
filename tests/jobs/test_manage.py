"""Jobs and uploads you can manage: list filters, and deleting a job (with its results) or an upload (with its
file), never one that work still needs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from pixmill.context import Context
from pixmill.db.models import Job, Order
from tests import images
from tests.conftest import fetch, submit, upload, wait_for
from tests.principals import account

PIPELINE = [{"op": "convert", "params": {"format": "png"}}]


def _ctx(client: TestClient) -> Context:
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def test_the_job_list_filters_by_status_and_creation_time(client: TestClient) -> None:
    ann = account(client, "ann@example.org")
    (good,) = upload(client, ("a.jpg", images.jpeg(40, 30)), headers=ann.headers)
    done = [submit(client, [good["id"]], PIPELINE, headers=ann.headers)["id"] for _ in range(2)]
    whole = images.jpeg(600, 400)
    (cut,) = upload(client, ("cut.jpg", whole[: len(whole) // 2]), headers=ann.headers)  # fails when decoded
    failing = submit(client, [cut["id"]], [{"op": "resize", "params": {"width": 50}}], headers=ann.headers)
    for job_id in [*done, failing["id"]]:
        wait_for(client, job_id, headers=ann.headers)

    def ids(**params: object) -> list[str]:
        r = client.get("/api/v1/jobs", params=params, headers=ann.headers)
        assert r.status_code == 200, r.text
        return [j["id"] for j in r.json()["items"]]

    assert ids(status="FAILED") == [failing["id"]]
    assert set(ids(status="COMPLETED")) == set(done)
    assert set(ids(status=["COMPLETED", "FAILED"])) == {*done, failing["id"]}
    assert ids(status="PENDING") == []
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert ids(created_from=later) == [] and len(ids(created_to=later)) == 3
    assert client.get("/api/v1/jobs", params={"status": "LOST"}, headers=ann.headers).status_code == 422


def test_deleting_a_job_removes_its_results_and_a_running_one_waits(client: TestClient) -> None:
    ann = account(client, "ann@example.org")
    (asset,) = upload(client, ("a.jpg", images.jpeg(40, 30)), headers=ann.headers)
    job = wait_for(client, submit(client, [asset["id"]], PIPELINE, headers=ann.headers)["id"], headers=ann.headers)
    url = job["outputs"][0]["url"]
    assert fetch(client, url)  # the result is there
    with _ctx(client).session() as s:  # as if a worker were on it
        s.execute(update(Job).where(Job.id == job["id"]).values(status="PROCESSING"))
        s.commit()
    r = client.delete(f"/api/v1/jobs/{job['id']}", headers=ann.headers)
    assert r.status_code == 409 and "running" in r.json()["detail"] and r.headers["Retry-After"] == "5"
    with _ctx(client).session() as s:
        s.execute(update(Job).where(Job.id == job["id"]).values(status="COMPLETED"))
        s.commit()
    assert client.delete(f"/api/v1/jobs/{job['id']}", headers=ann.headers).status_code == 204
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=ann.headers).status_code == 404
    assert client.get(url).status_code == 404  # its files went with it
    assert client.get(f"/api/v1/uploads/{asset['id']}", headers=ann.headers).status_code == 200  # not its input


def test_deleting_an_upload_removes_its_file_unless_work_still_needs_it(client: TestClient) -> None:
    ann = account(client, "ann@example.org")
    (kept, free) = upload(client, ("a.jpg", images.jpeg(40, 30)), ("b.jpg", images.jpeg(40, 30)), headers=ann.headers)
    ctx = _ctx(client)
    now = datetime.now(UTC)
    with ctx.session() as s:
        s.add(
            Order(
                id="o-1",
                state="paid",
                items=[{"photo": kept["id"], "palette": "dmc"}],
                version=0,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()
    r = client.delete(f"/api/v1/uploads/{kept['id']}", headers=ann.headers)
    assert r.status_code == 409 and "order o-1" in r.json()["detail"]
    job = submit(client, [free["id"]], PIPELINE, headers=ann.headers)
    with ctx.session() as s:  # held waiting, as on a busy pool
        s.execute(update(Job).where(Job.id == job["id"]).values(status="PENDING"))
        s.commit()
    r = client.delete(f"/api/v1/uploads/{free['id']}", headers=ann.headers)
    assert r.status_code == 409 and job["id"] in r.json()["detail"]
    with ctx.session() as s:
        s.execute(update(Job).where(Job.id == job["id"]).values(status="COMPLETED"))
        s.commit()
    from pixmill.assets.service import get_asset

    stored = get_asset(ctx, free["id"])
    assert stored is not None and ctx.storage.exists(stored.storage_key)
    assert client.delete(f"/api/v1/uploads/{free['id']}", headers=ann.headers).status_code == 204
    assert client.get(f"/api/v1/uploads/{free['id']}", headers=ann.headers).status_code == 404
    assert not ctx.storage.exists(stored.storage_key)


SLOW = [{"op": "blur", "params": {"sigma": 8}} for _ in range(40)] + [{"op": "convert", "params": {"format": "png"}}]


def test_a_pending_job_is_cancelled_at_once_and_its_webhook_says_so(client: TestClient) -> None:
    from pixmill.imaging.pipeline import parse_pipeline
    from pixmill.jobs.service import create_job
    from tests.webhook_sink import WebhookSink

    ann = account(client, "ann@example.org")
    (asset,) = upload(client, ("a.jpg", images.jpeg(40, 30)), headers=ann.headers)
    ctx = _ctx(client)
    with WebhookSink() as sink:
        from pixmill.identity.principal import for_user

        me = for_user(ann.id, frozenset({"user"}), "api_key")
        job, _ = create_job(  # recorded, not yet handed to a worker: PENDING
            ctx,
            pipeline=parse_pipeline(PIPELINE),
            input_ids=[asset["id"]],
            base_url="http://testserver",
            request_id=None,
            webhook_url=sink.url,
            principal=me,
        )
        r = client.post(f"/api/v1/jobs/{job.id}/cancel", headers=ann.headers)
        assert r.status_code == 202 and r.json()["status"] == "CANCELLED", r.text
        assert "before it started" in r.json()["error"]
        assert client.post(f"/api/v1/jobs/{job.id}/cancel", headers=ann.headers).json()["status"] == "CANCELLED"
        client.app.state.runner.submit(job.id)  # type: ignore[attr-defined]  # a late message runs nothing
        deadline = time.monotonic() + 10
        while not sink.payloads():
            assert time.monotonic() < deadline, "no webhook"
            time.sleep(0.05)
        assert [(p["job_id"], p["status"]) for p in sink.payloads()] == [(job.id, "CANCELLED")]
    time.sleep(0.5)
    final = client.get(f"/api/v1/jobs/{job.id}", headers=ann.headers).json()
    assert final["status"] == "CANCELLED" and final["outputs"] == [] and final["webhook"]["status"] == "delivered"
    assert client.get("/api/v1/jobs", params={"status": "CANCELLED"}, headers=ann.headers).json()["total"] == 1


def test_a_running_job_stops_at_its_next_step_and_a_finished_one_cannot_be_cancelled(client: TestClient) -> None:
    ann = account(client, "ann@example.org")
    (asset,) = upload(client, ("big.jpg", images.jpeg(1600, 1200)), headers=ann.headers)
    job = submit(client, [asset["id"]], SLOW, headers=ann.headers)
    deadline = time.monotonic() + 60
    while (seen := client.get(f"/api/v1/jobs/{job['id']}", headers=ann.headers).json())["status"] != "PROCESSING":
        assert time.monotonic() < deadline and seen["status"] == "PENDING", seen
        time.sleep(0.02)
    r = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=ann.headers)
    assert r.status_code == 202 and r.json()["status"] in ("PROCESSING", "CANCELLED"), r.text
    done = wait_for(client, job["id"], headers=ann.headers)
    assert done["status"] == "CANCELLED" and "while processing" in done["error"], done
    assert done["outputs"] == [] and len(done["steps"]) < len(SLOW)
    r = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=ann.headers)
    assert r.status_code == 202 and r.json()["status"] == "CANCELLED"

    finished = wait_for(client, submit(client, [asset["id"]], PIPELINE, headers=ann.headers)["id"], headers=ann.headers)
    r = client.post(f"/api/v1/jobs/{finished['id']}/cancel", headers=ann.headers)
    assert r.status_code == 409 and "COMPLETED already" in r.json()["detail"]
    bob = account(client, "bob@example.org")
    assert client.post(f"/api/v1/jobs/{finished['id']}/cancel", headers=bob.headers).status_code == 404
