"""The idempotency port: both adapters claim, refuse, release and expire keys alike; losers get the winner's job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from pixmill.adapters.idempotency import IdempotencyKeyReused
from pixmill.adapters.idempotency.database import DatabaseIdempotency
from pixmill.adapters.idempotency.redis import RedisIdempotency
from pixmill.app import create_app
from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.models import IdempotencyKey
from pixmill.db.session import upgrade
from pixmill.identity.principal import ANONYMOUS
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.jobs import service
from tests import images
from tests.conftest import make_settings, upload
from tests.live import free_port
from tests.principals import job_total

RESIZE = [{"op": "resize", "params": {"width": 10}}]


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    """A Context with the embedded (database) or the Redis idempotency adapter."""
    settings = request.getfixturevalue("redis_settings") if request.param == "redis" else make_settings(tmp_path)
    context = Context.from_settings(settings)
    upgrade(context.engine)
    expected = RedisIdempotency if request.param == "redis" else DatabaseIdempotency
    assert isinstance(context.idempotency, expected)
    yield context
    context.close()


def test_service_refuses_a_reused_key_at_once_even_while_its_job_is_being_recorded(ctx: Context) -> None:
    assert ctx.idempotency.claim("k", "winner", 60, "hash-a") is None
    started = time.monotonic()
    with pytest.raises(IdempotencyKeyReused):
        service.claim(ctx, "k", "loser", "hash-b")
    assert time.monotonic() - started < 1  # no wait for the winner's job


def _pending_job(ctx: Context, job_id: str) -> None:
    """Record a job as `job_id`, as the winner of a claim does."""
    from pixmill.assets.service import prepare_asset, save_assets

    (asset,) = save_assets(ctx, [prepare_asset(ctx, "q.jpg", images.jpeg(20, 10))])
    service._record(
        ctx,
        job_id,
        pipeline=parse_pipeline(RESIZE),
        input_ids=[asset.id],
        base_url="http://x",
        request_id=None,
        webhook_url=None,
        api="v1",
        operations=None,
        new_assets=[],
    )


def test_a_key_is_held_briefly_until_its_job_is_recorded_then_for_the_retention(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that dies between its claim and its job's record blocks the key for CLAIM_HOLD_S, not a day."""
    monkeypatch.setattr(service, "CLAIM_HOLD_S", 0.3)
    assert service.claim(ctx, "lost", "dead-request") is None
    time.sleep(0.5)
    assert service.claim(ctx, "lost", "retry") is None  # the dead request's claim lapsed

    from pixmill.assets.service import prepare_asset, save_assets

    (asset,) = save_assets(ctx, [prepare_asset(ctx, "q.jpg", images.jpeg(20, 10))])
    job, created = service.create_job(
        ctx,
        pipeline=parse_pipeline(RESIZE),
        input_ids=[asset.id],
        base_url="http://x",
        request_id=None,
        idempotency_key="kept",
    )
    assert created
    time.sleep(0.5)  # past CLAIM_HOLD_S: the recorded job's key is still held
    stored = service.scoped_key(ANONYMOUS, "kept")  # the key in the anonymous callers' namespace
    assert stored == "anonymous:kept"
    again = service.claim(ctx, stored, "another")
    assert again is not None and again.id == job.id


def test_a_loser_waits_for_the_winners_job(ctx: Context) -> None:
    assert ctx.idempotency.claim("k", "winner", 60) is None
    timer = threading.Timer(0.3, _pending_job, (ctx, "winner"))
    timer.start()
    started = time.monotonic()
    job = service.claim(ctx, "k", "loser")
    timer.join()
    assert job is not None and job.id == "winner"
    assert time.monotonic() - started >= 0.25


def test_a_loser_claims_the_key_when_the_winner_releases_it(ctx: Context) -> None:
    assert ctx.idempotency.claim("k", "winner", 60) is None
    timer = threading.Timer(0.3, ctx.idempotency.release, ("k", "winner"))
    timer.start()
    assert service.claim(ctx, "k", "loser") is None
    timer.join()
    assert ctx.idempotency.claim("k", "third", 60) == "loser"


def test_a_loser_gives_up_with_in_progress_when_the_winner_never_records(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CLAIM_WAIT_S", 0.3)
    assert ctx.idempotency.claim("k", "winner", 60) is None
    with pytest.raises(service.IdempotencyInProgress):
        service.claim(ctx, "k", "loser")


def test_a_refused_request_releases_its_key(ctx: Context) -> None:
    with pytest.raises(service.UnknownAsset):
        service.create_job(
            ctx,
            pipeline=parse_pipeline(RESIZE),
            input_ids=["nope"],
            base_url="http://x",
            request_id=None,
            idempotency_key="k",
        )
    assert ctx.idempotency.claim("k", "next", 60) is None


@pytest.mark.redis
def test_a_job_that_cannot_be_queued_releases_its_redis_key(redis_settings: Settings) -> None:
    closed = free_port()
    settings = redis_settings.model_copy(
        update={"runner": "celery", "broker_url": f"amqp://guest:guest@127.0.0.1:{closed}//"}
    )
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg()))
        body = {"inputs": [asset["id"]], "pipeline": RESIZE}
        for _ in range(2):  # the key was released with the job: the retry tries again (and fails again)
            r = client.post("/api/v1/jobs", json=body, headers={"Idempotency-Key": "k-1"})
            assert r.status_code == 503, r.text
        files = {"file": ("p.jpg", images.jpeg(), "image/jpeg")}
        r = client.post("/api/process", data={"operations": '["webp"]'}, files=files, headers={"Idempotency-Key": "k"})
        assert r.status_code == 503, r.text
        assert job_total(client) == 0
        ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
        assert ctx.redis is not None
        assert list(ctx.redis.scan_iter(match=f"{settings.redis_prefix}idempotency:*")) == []
        with ctx.session() as s:
            assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
