"""Admin routes and quotas: only admins manage accounts and read the audit log; quotas follow the settings and an
admin's per-user override."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pixmill.app import create_app
from pixmill.context import Context
from pixmill.db.models import Asset, Job
from pixmill.identity import audit, quotas, service
from pixmill.identity.principal import ANONYMOUS, for_user
from tests import images
from tests.conftest import make_settings


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(tmp_path, quota_jobs_per_minute=3, quota_storage_bytes=1000))) as c:
        yield c


def _ctx(client: TestClient) -> Context:
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def _key(ctx: Context, email: str, roles: list[str], scopes: list[str]) -> tuple[str, dict[str, str]]:
    user = service.create_user(ctx, email, None, roles=roles)
    _, token = service.create_api_key(ctx, user.id, "k", scopes)
    return user.id, {"X-API-Key": token}


def test_only_admins_reach_the_admin_routes(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    _, user = _key(ctx, "u@example.org", ["user"], ["jobs"])
    _, staff = _key(ctx, "s@example.org", ["staff"], ["orders"])
    _, admin = _key(ctx, "a@example.org", ["admin"], ["admin"])
    _, admin_without_scope = _key(ctx, "b@example.org", ["admin"], ["jobs"])
    for path in ("/api/v1/admin/users", "/api/v1/admin/audit"):
        assert app_client.get(path).status_code == 401
        for headers in (user, staff, admin_without_scope):
            r = app_client.get(path, headers=headers)
            assert r.status_code == 403 and "admin" in r.json()["detail"], r.text
        assert app_client.get(path, headers=admin).status_code == 200
    emails = [u["email"] for u in app_client.get("/api/v1/admin/users", headers=admin).json()]
    assert emails == ["u@example.org", "s@example.org", "a@example.org", "b@example.org"]


def test_roles_and_disabling_are_audited_and_the_last_admin_stays(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    admin_id, admin = _key(ctx, "a@example.org", ["admin"], ["admin"])
    user_id, user = _key(ctx, "u@example.org", ["user"], ["jobs"])
    r = app_client.patch(f"/api/v1/admin/users/{user_id}", json={"roles": ["staff"]}, headers=admin)
    assert r.status_code == 200 and r.json()["roles"] == ["staff", "user"], r.text
    r = app_client.patch(f"/api/v1/admin/users/{user_id}", json={"disabled": True}, headers=admin)
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert app_client.get("/api/v1/admin/users", headers=user).status_code == 401  # a disabled user's key is dead
    r = app_client.patch(f"/api/v1/admin/users/{admin_id}", json={"roles": ["user"]}, headers=admin)
    assert r.status_code == 409 and "no enabled admin" in r.json()["detail"]
    assert app_client.patch("/api/v1/admin/users/nope", json={}, headers=admin).status_code == 404
    assert (
        app_client.patch(f"/api/v1/admin/users/{user_id}", json={"roles": ["root"]}, headers=admin).status_code == 422
    )
    events = app_client.get("/api/v1/admin/audit", params={"user_id": user_id}, headers=admin).json()
    assert [(e["event"], e["actor_id"]) for e in events] == [("user_disabled", admin_id), ("roles_changed", admin_id)]
    assert events[1]["detail"] == {"before": ["user"], "after": ["staff", "user"]}
    (older,) = app_client.get(
        "/api/v1/admin/audit", params={"user_id": user_id, "before": events[0]["id"]}, headers=admin
    ).json()
    assert older["event"] == "roles_changed"


def _job(ctx: Context, owner: str, created: datetime) -> None:
    with ctx.session() as s:
        s.add(
            Job(
                id=service.new_id(),
                status="COMPLETED",
                pipeline={},
                input_ids=[],
                base_url="http://x",
                owner_id=owner,
                created_at=created,
                expires_at=created + timedelta(days=1),
            )
        )
        s.commit()


def test_job_rate_follows_the_setting_and_an_admins_override(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    user = service.create_user(ctx, "q@example.org", None)
    me = for_user(user.id, frozenset(user.roles), "session")
    now = datetime.now(UTC)
    _job(ctx, user.id, now - timedelta(seconds=90))  # outside the minute
    for seconds in (50, 20, 10):
        _job(ctx, user.id, now - timedelta(seconds=seconds))
    with pytest.raises(quotas.JobRateExceeded) as caught:
        quotas.check_job_rate(ctx, me, "10.0.0.1", now=now)
    assert caught.value.status == 429 and caught.value.retry_after == 10  # the oldest of the 3 leaves in 10 s
    assert "3 jobs per minute" in str(caught.value)
    with ctx.session() as s:
        s.get(type(user), user.id).quota_jobs_per_minute = 4  # type: ignore[union-attr]
        s.commit()
    quotas.check_job_rate(ctx, me, "10.0.0.1", now=now)
    for _ in range(3):  # anonymous callers: per address, in this process
        quotas.check_job_rate(ctx, ANONYMOUS, "10.0.0.9")
    with pytest.raises(quotas.JobRateExceeded):
        quotas.check_job_rate(ctx, ANONYMOUS, "10.0.0.9")
    quotas.check_job_rate(ctx, ANONYMOUS, "10.0.0.10")  # another address has its own count


def test_storage_quota_counts_uploads_and_outputs(app_client: TestClient) -> None:
    ctx = _ctx(app_client)
    user = service.create_user(ctx, "st@example.org", None)
    me = for_user(user.id, frozenset(user.roles), "session")
    now = datetime.now(UTC)
    with ctx.session() as s:
        s.add(
            Asset(
                id=service.new_id(),
                filename="a.jpg",
                format="JPEG",
                width=1,
                height=1,
                bytes=700,
                sha256="0" * 64,
                storage_key="uploads/x",
                owner_id=user.id,
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
        s.commit()
    quotas.check_storage(ctx, me, 300)
    with pytest.raises(quotas.StorageQuotaExceeded) as caught:
        quotas.check_storage(ctx, me, 301)
    assert caught.value.status == 413 and "700 are stored" in str(caught.value)
    quotas.check_storage(ctx, ANONYMOUS, 10**9)  # anonymous uploads are bounded by the upload limits instead


def test_audit_records_carry_who_and_from_where(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as client:
        ctx = _ctx(client)
        with ctx.session() as s:
            audit.record(s, "login_failed", user_id="u1", address="10.1.2.3", reason="password")
            s.commit()
        _, admin = _key(ctx, "a@example.org", ["admin"], ["admin"])
        (event,) = client.get("/api/v1/admin/audit", params={"event": "login_failed"}, headers=admin).json()
        assert (event["user_id"], event["address"], event["detail"]) == ("u1", "10.1.2.3", {"reason": "password"})


def test_the_job_routes_answer_429_past_the_quota_and_uploads_413_past_storage(app_client: TestClient) -> None:
    from tests.conftest import upload
    from tests.principals import account

    (asset,) = upload(app_client, ("a.jpg", images.jpeg(16, 16)))
    body = {"inputs": [asset["id"]], "pipeline": [{"op": "convert", "params": {"format": "png"}}]}
    for _ in range(3):  # PIXMILL_QUOTA_JOBS_PER_MINUTE=3 here, counted per address for anonymous callers
        assert app_client.post("/api/v1/jobs", json=body).status_code == 202
    r = app_client.post("/api/v1/jobs", json=body)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1 and "3 jobs per minute" in r.json()["detail"]
    photo = {"file": ("p.jpg", images.jpeg(16, 16), "image/jpeg")}
    r = app_client.post("/api/process", files=photo, data={"operations": '["webp"]'})
    assert r.status_code == 429 and "jobs per minute" in r.json()["detail"]  # PixTools' route counts too

    ann = account(app_client, "ann@example.org")  # PIXMILL_QUOTA_STORAGE_BYTES=1000 here
    big = images.jpeg(200, 200)
    assert len(big) > 1000
    r = app_client.post("/api/v1/uploads", files=[("files", ("b.jpg", big, "image/jpeg"))], headers=ann.headers)
    assert r.status_code == 413 and "storage quota is 1000 bytes" in r.json()["detail"], r.text
    assert app_client.post("/api/v1/uploads", files=[("files", ("b.jpg", big, "image/jpeg"))]).status_code == 201
