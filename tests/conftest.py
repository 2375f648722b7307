from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from pixmill.app import create_app
from pixmill.config import Settings
from tests.seaweed import bucket, seaweed  # noqa: F401  (fixtures: one SeaweedFS per session for every S3 test)

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_MODELS = SHARED / "models"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it."""
    name = f"pixmill_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the shared Redis server; every key under it is deleted after the test."""
    import redis

    prefix = f"pixmill-test-{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def redis_settings(tmp_path: Path, redis_prefix: str) -> Settings:
    """Settings of the distributed adapters on the shared Redis server, under this test's own prefix."""
    return make_settings(tmp_path, redis_url=REDIS_URL, redis_prefix=redis_prefix)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "workers": 2,
        "webhook_allow_private": True,
        "webhook_attempts": 3,
        "webhook_backoff_s": 0.05,
        "webhook_timeout_s": 2.0,
        "secret_key": "test-secret",
        "log_level": "INFO",
        "models_dir": tmp_path / "no-models",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def ml_client(tmp_path: Path) -> Iterator[TestClient]:
    """A client whose models directory is ../shared/models (the real weights)."""
    with TestClient(create_app(make_settings(tmp_path, models_dir=SHARED_MODELS))) as c:
        yield c


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The same client on SQLite and on PostgreSQL."""
    overrides: dict[str, Any] = {}
    if request.param == "postgres":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    with TestClient(create_app(make_settings(tmp_path, **overrides))) as c:
        yield c


def upload(
    client: TestClient,
    *files: tuple[str, bytes],
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Upload `files` (anonymously, or as the account whose `headers` are given)."""
    files_field = [("files", (n, d, content_type)) for n, d in files]
    response = client.post("/api/v1/uploads", files=files_field, headers=headers)
    assert response.status_code == 201, response.text
    assets: list[dict[str, Any]] = response.json()["assets"]
    return assets


def submit(
    client: TestClient, inputs: list[str], pipeline: Any, headers: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    response = client.post("/api/v1/jobs", json={"inputs": inputs, "pipeline": pipeline, **extra}, headers=headers)
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def wait_for(
    client: TestClient,
    job_id: str,
    path: str = "/api/v1/jobs/{}",
    timeout: float = 60,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Poll a job until it leaves PENDING/PROCESSING (and its webhook, if any, is settled)."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(path.format(job_id), headers=headers).json()
        webhook = body.get("webhook") or {}
        if body["status"] not in ("PENDING", "PROCESSING") and webhook.get("status") != "pending":
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['status']} after {timeout}s")
        time.sleep(0.05)


def fetch(client: TestClient, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.content
