"""The runner port: both runners (the in-process pools, and Celery over RabbitMQ with a real worker process) run a
queued job and a queued task, answer a synchronous call, refuse an unknown queue, and say RunnerUnavailable — never
something else — when they cannot take work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pixmill.assets.service import get_asset, prepare_asset, save_assets
from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.session import upgrade
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.jobs.service import create_job, get_job
from pixmill.worker.celery_runner import CeleryRunner
from pixmill.worker.pools import LocalPools
from pixmill.worker.port import Runner, RunnerUnavailable
from pixmill.worker.registry import EXPIRE, RUN_JOB
from pixmill.worker.runner import InProcessRunner, build_runner
from tests import images
from tests.conftest import make_settings
from tests.distributed.conftest import broker_url, celery_settings, start_worker  # noqa: F401  (fixtures)

PIPELINE = [{"op": "resize", "params": {"width": 32}}, {"op": "convert", "params": {"format": "png"}}]


@pytest.fixture(params=["inprocess", pytest.param("celery", marks=[pytest.mark.distributed, pytest.mark.postgres])])
def runner(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runner]:
    """A started runner of each kind over its Context; the Celery one with a `pixmill worker` serving it."""
    if request.param == "celery":
        settings: Settings = request.getfixturevalue("celery_settings")
        request.getfixturevalue("start_worker")("standard", settings)
    else:
        settings = make_settings(tmp_path, workers=1)
    ctx = Context.from_settings(settings)
    upgrade(ctx.engine)
    built = build_runner(ctx, LocalPools(settings))
    assert isinstance(built, CeleryRunner if request.param == "celery" else InProcessRunner)
    built.start()
    yield built
    built.stop()
    ctx.close()


def _ctx(runner: Runner) -> Context:
    ctx: Context = runner.ctx  # type: ignore[attr-defined]
    return ctx


def _wait(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_submitted_job_runs_to_completion(runner: Runner) -> None:
    ctx = _ctx(runner)
    (asset,) = save_assets(ctx, [prepare_asset(ctx, "a.jpg", images.jpeg(64, 48))])
    job, created = create_job(
        ctx, pipeline=parse_pipeline(PIPELINE), input_ids=[asset.id], base_url="http://x", request_id=None
    )
    assert created and job.status == "PENDING"
    runner.enqueue(RUN_JOB, {"job_id": job.id}, "standard")
    _wait(lambda: get_job(ctx, job.id).status in ("COMPLETED", "FAILED"))
    done = get_job(ctx, job.id)
    assert done.status == "COMPLETED", done.error
    assert [(o.format, o.width) for o in done.outputs] == [("PNG", 32)]


def test_a_queued_task_runs_and_a_call_answers_with_its_value(runner: Runner) -> None:
    ctx = _ctx(runner)
    (asset,) = save_assets(ctx, [prepare_asset(ctx, "old.jpg", images.jpeg(16, 16))])
    with ctx.session() as s:  # already past its expiry
        s.get(type(asset), asset.id).expires_at = datetime.now(UTC) - timedelta(hours=1)  # type: ignore[union-attr]
        s.commit()
    runner.enqueue(EXPIRE, {})  # its own queue (standard), run by whoever serves it
    _wait(lambda: get_asset(ctx, asset.id) is None)
    assert not ctx.storage.exists(asset.storage_key)
    assert runner.call(EXPIRE, {}).result(timeout=60) == 0  # a call waits for the task's return value


def test_an_unknown_queue_is_refused(runner: Runner) -> None:
    with pytest.raises(ValueError, match="queue"):
        runner.enqueue(EXPIRE, {}, queue="nope")


def test_a_runner_that_cannot_take_work_says_runner_unavailable(tmp_path: Path) -> None:
    """In-process: after stop. Celery: a broker nobody listens on, answered within seconds."""
    settings = make_settings(tmp_path, workers=1)
    ctx = Context.from_settings(settings)
    upgrade(ctx.engine)
    stopped = InProcessRunner(ctx, LocalPools(settings))
    stopped.start()
    stopped.stop()
    with pytest.raises(RunnerUnavailable):
        stopped.enqueue(EXPIRE, {})
    nowhere = make_settings(tmp_path, runner="celery", broker_url="amqp://guest:guest@127.0.0.1:9/")
    celery = build_runner(Context.from_settings(nowhere), LocalPools(nowhere))
    started = time.monotonic()
    with pytest.raises(RunnerUnavailable):
        celery.enqueue(EXPIRE, {})
    assert time.monotonic() - started < 10
    with pytest.raises(Exception):  # noqa: B017  (check raises whatever the broker client raises)
        celery.check()
    celery.stop()
    ctx.close()
