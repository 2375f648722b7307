"""Jobs and uploads you can manage: list filters, and deleting a job (with its results) or an upload (with its
file), never one that work still needs."""

from __future__ import annotations

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
