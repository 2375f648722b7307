"""The worker pool: a dead process fails only its own task, the others run; priority, signals and the grace period."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from pixmill.context import Context
from pixmill.worker.processes import PoolStopped, WorkerDied, WorkerPool
from tests.conftest import make_settings


def _nap(_: Context, seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def _die(_: Context) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _niceness(_: Context) -> int:
    return os.nice(0)


def _signal_self(_: Context, signum: int) -> str:
    os.kill(os.getpid(), signum)
    time.sleep(0.2)
    return "still here"


def _raise(_: Context) -> None:
    raise ValueError("bad input")


def _unpicklable(_: Context) -> object:
    return lambda: None


def _pool(tmp_path: Path, workers: int = 2, **overrides: object) -> WorkerPool:
    pool = WorkerPool(make_settings(tmp_path, **overrides), workers=workers)
    pool.start()
    return pool


def test_a_dead_worker_fails_only_its_task_and_the_queued_tasks_run(tmp_path: Path) -> None:
    pool = _pool(tmp_path)
    try:
        pool.submit(_nap, 0, 0).result(timeout=60)  # both processes up
        pool.submit(_nap, 0, 0).result(timeout=60)
        sibling = pool.submit(_nap, 1.0, -1)
        doomed = pool.submit(_die)
        queued = [pool.submit(_nap, 0.01, i) for i in range(10)]
        with pytest.raises(WorkerDied, match="killed by SIGKILL"):
            doomed.result(timeout=60)
        pool.check()  # healthy at once: the process is being replaced
        assert sibling.result(timeout=60) == -1
        assert [f.result(timeout=60) for f in queued] == list(range(10))
    finally:
        pool.stop()


def test_errors_come_back_as_the_task_s_exception(tmp_path: Path) -> None:
    pool = _pool(tmp_path, workers=1)
    try:
        with pytest.raises(ValueError, match="bad input"):
            pool.submit(_raise).result(timeout=60)
        with pytest.raises(RuntimeError, match="cannot be sent back"):
            pool.submit(_unpicklable).result(timeout=60)
        assert pool.submit(_nap, 0, 7).result(timeout=60) == 7  # the same process serves on
    finally:
        pool.stop()


def test_workers_run_at_a_lower_priority_unless_told_not_to(tmp_path: Path) -> None:
    mine = os.nice(0)
    pool = _pool(tmp_path / "a", workers=1, worker_nice=7)
    plain = _pool(tmp_path / "b", workers=1, worker_nice=0)
    try:
        assert pool.submit(_niceness).result(timeout=60) == min(19, mine + 7)
        assert plain.submit(_niceness).result(timeout=60) == mine
    finally:
        pool.stop()
        plain.stop()


def test_workers_ignore_sigint_and_sigterm_the_pool_decides_when_they_stop(tmp_path: Path) -> None:
    pool = _pool(tmp_path, workers=1)
    try:
        assert pool.submit(_signal_self, signal.SIGTERM).result(timeout=60) == "still here"
        assert pool.submit(_signal_self, signal.SIGINT).result(timeout=60) == "still here"
    finally:
        pool.stop()


def test_stop_lets_running_tasks_finish_and_cancels_queued_ones(tmp_path: Path) -> None:
    pool = _pool(tmp_path, workers=1, shutdown_grace_s=30)
    running = pool.submit(_nap, 1.0, 1)
    queued = pool.submit(_nap, 0, 2)
    while not running.running():
        time.sleep(0.01)
    pool.stop()
    assert running.result(timeout=0) == 1
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="stopped"):
        pool.submit(_nap, 0, 3)


def test_stop_kills_what_runs_past_the_grace_period(tmp_path: Path) -> None:
    pool = _pool(tmp_path, workers=1, shutdown_grace_s=0.5)
    running = pool.submit(_nap, 60, 1)
    while not running.running():
        time.sleep(0.01)
    started = time.monotonic()
    pool.stop()
    assert time.monotonic() - started < 10
    with pytest.raises(PoolStopped):
        running.result(timeout=0)


def test_processes_that_cannot_start_make_the_pool_unhealthy_and_their_work_waits(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    pool = _pool(tmp_path, workers=1, storage_dir=blocker / "files")  # each worker's storage fails to open
    try:
        waiting = pool.submit(_nap, 0, 1)
        deadline = time.monotonic() + 60
        while True:
            try:
                pool.check()
            except RuntimeError as exc:
                assert "cannot start" in str(exc)
                break
            assert time.monotonic() < deadline, "the pool never said its processes cannot start"
            time.sleep(0.1)
        assert not waiting.done()  # a job waits for a process rather than failing for the deployment's fault
    finally:
        pool.stop()
    assert waiting.cancelled()
