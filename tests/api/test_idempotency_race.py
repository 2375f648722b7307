"""Twenty concurrent requests with one Idempotency-Key, over real HTTP: one job, one stored upload, one answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, select

from pixmill.adapters.storage import Storage
from pixmill.app import create_app
from pixmill.context import Context
from pixmill.db.models import Asset, IdempotencyKey, Job
from tests import images
from tests.conftest import make_settings
from tests.live import free_port

CONCURRENCY = 20


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn on a thread of this process (so the test can look inside it); yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


class CountingStorage:
    """The app's storage, recording every key written through it."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.written: list[str] = []
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, media_type: str) -> None:
        with self._lock:
            self.written.append(key)
        self.inner.put(key, data, media_type)

    def put_file(self, key: str, fh: BinaryIO, media_type: str) -> None:
        with self._lock:
            self.written.append(key)
        self.inner.put_file(key, fh, media_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def all_at_once(send: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """CONCURRENCY calls of `send`, released together from as many threads."""
    barrier = threading.Barrier(CONCURRENCY)

    def one() -> httpx.Response:
        barrier.wait(timeout=30)
        return send()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(lambda _: one(), range(CONCURRENCY)))


@pytest.mark.parametrize(
    "adapter",
    [
        "database-sqlite",
        pytest.param("database-postgres", marks=pytest.mark.postgres),
        pytest.param("redis", marks=pytest.mark.redis),
    ],
)
def test_concurrent_requests_with_one_key_make_one_job_and_store_one_upload(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if adapter == "redis":
        settings = request.getfixturevalue("redis_settings")
    elif adapter == "database-postgres":
        settings = make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))
    else:
        settings = make_settings(tmp_path)
    app = create_app(settings.model_copy(update={"workers": 1}))
    with serving(app) as url:
        ctx: Context = app.state.ctx
        storage = CountingStorage(ctx.storage)
        ctx.storage = storage
        up = httpx.post(f"{url}/api/v1/uploads", files={"files": ("q.jpg", images.jpeg(40, 30), "image/jpeg")})
        asset_id = up.json()["assets"][0]["id"]
        body = {"inputs": [asset_id], "pipeline": [{"op": "resize", "params": {"width": 10}}]}

        jobs = all_at_once(
            lambda: httpx.post(f"{url}/api/v1/jobs", json=body, headers={"Idempotency-Key": "same"}, timeout=60)
        )
        assert [r.status_code for r in jobs] == [202] * CONCURRENCY, [r.text for r in jobs if r.status_code != 202]
        (job_id,) = {r.json()["id"] for r in jobs}

        photo = images.jpeg(64, 48)
        processed = all_at_once(
            lambda: httpx.post(
                f"{url}/api/process",
                data={"operations": '["webp"]'},
                files={"file": ("p.jpg", photo, "image/jpeg")},
                headers={"Idempotency-Key": "same-upload"},
                timeout=60,
            )
        )
        assert [r.status_code for r in processed] == [202] * CONCURRENCY, [r.text for r in processed]
        (process_id,) = {r.json()["job_id"].replace("-", "") for r in processed}  # shown as a dashed UUID
        assert process_id != job_id

        uploads_written = [k for k in storage.written if k.startswith("uploads/")]
        assert len(uploads_written) == 2  # the upload of the first part, and one for twenty /api/process calls
        with ctx.session() as s:
            assert set(s.scalars(select(Job.id))) == {job_id, process_id}
            assert s.scalar(select(func.count()).select_from(Asset)) == 2
            keys = {key: holder for key, holder in s.execute(select(IdempotencyKey.key, IdempotencyKey.job_id))}
        # Stored in the anonymous callers' namespace (each account has its own).
        keys_expected = {"anonymous:same": job_id, "anonymous:same-upload": process_id}
        if adapter == "redis":
            assert keys == {}
            assert ctx.redis is not None
            prefix = f"{settings.redis_prefix}idempotency:"
            holders: dict[str, Any] = {key: ctx.redis.get(f"{prefix}{key}") for key in keys_expected}
            # "<job id> <fingerprint of the request>"
            assert {key: value.split(b" ")[0].decode() for key, value in holders.items()} == keys_expected
        else:
            assert keys == keys_expected
    if adapter == "database-sqlite":  # the local files agree: nothing stored and left behind by a loser
        assert len(list((tmp_path / "data" / "files" / "uploads").iterdir())) == 2
