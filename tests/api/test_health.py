from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pixmill.adapters.storage.local import LocalStorage
from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.db.session import make_engine
from tests.conftest import make_settings
from tests.live import free_port


def test_liveness_readiness_and_deep_health(client: TestClient) -> None:
    assert client.get("/api/livez").json() == {"status": "ok"}
    assert client.get("/api/readyz").status_code == 200
    body = client.get("/api/health").json()
    assert body == {"status": "healthy", "dependencies": {"database": "ok", "storage": "ok", "job_runner": "ok"}}


def test_health_is_503_naming_what_is_down(client: TestClient, tmp_path: Path) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    good_engine, good_storage = ctx.engine, ctx.storage
    try:
        ctx.engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("x")
        ctx.storage = LocalStorage(tmp_path / "root", b"k")
        ctx.storage.root = blocker  # writes under a plain file fail
        r = client.get("/api/health")
        assert r.status_code == 503
        assert r.json()["dependencies"] == {"database": "unreachable", "storage": "unreachable", "job_runner": "ok"}
        assert client.get("/api/readyz").status_code == 503
    finally:
        ctx.engine, ctx.storage = good_engine, good_storage


@pytest.mark.redis
def test_health_names_redis_when_it_is_configured(redis_settings: Settings) -> None:
    with TestClient(create_app(redis_settings)) as client:
        r = client.get("/api/health")
        assert r.status_code == 200, r.text
        assert r.json()["dependencies"] == {"database": "ok", "storage": "ok", "job_runner": "ok", "redis": "ok"}


def test_health_is_503_naming_redis_when_redis_is_down(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings)) as client:  # the API starts all the same
        r = client.get("/api/health")
        assert r.status_code == 503
        assert r.json() == {
            "status": "unhealthy",
            "dependencies": {"database": "ok", "storage": "ok", "job_runner": "ok", "redis": "unreachable"},
        }
        assert client.get("/api/readyz").status_code == 200


def test_health_is_503_naming_rabbitmq_when_the_broker_is_down(tmp_path: Path) -> None:
    closed = free_port()
    settings = make_settings(tmp_path, runner="celery", broker_url=f"amqp://guest:guest@127.0.0.1:{closed}//")
    with TestClient(create_app(settings)) as client:
        r = client.get("/api/health")
        assert r.status_code == 503
        assert r.json()["dependencies"] == {"database": "ok", "storage": "ok", "rabbitmq": "unreachable"}


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/api/livez", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/api/livez").headers["x-request-id"]
    assert len(generated) == 32
    assert client.get("/api/livez", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"] != "bad id\n"


def test_index_page_and_docs_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "/api/v1/uploads" in page.text
    assert client.get("/docs").status_code == 200
    assert "/api/process" in client.get("/openapi.json").json()["paths"]


def test_the_startup_heap_is_frozen_while_the_app_runs_and_thawed_after(settings: Settings) -> None:
    gc.unfreeze()
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/livez").status_code == 200
        assert gc.get_freeze_count() > 10_000  # modules, routes, models: out of the full collections' way
    assert gc.get_freeze_count() == 0
