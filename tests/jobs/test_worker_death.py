"""Embedded mode loses nothing when a process dies: real pool processes of a live server are killed here."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests import images
from tests.live import LiveServer
from tests.principals import live_account

pytestmark = pytest.mark.live


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"  # a zombie has exited; only its parent's reaping is missing


def _children(pid: int) -> dict[int, str]:
    """pid → command line of the live children of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if stat is not None and stat[1] == pid and stat[0] != "Z":
            try:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
    return found


def _pool_workers(pid: int) -> list[int]:
    return sorted(
        p for p, cmd in _children(pid).items() if "multiprocessing.spawn" in cmd and "resource_tracker" not in cmd
    )


def _upload(server: LiveServer, data: bytes) -> str:
    r = httpx.post(f"{server.url}/api/v1/uploads", files={"files": ("n.png", data, "image/png")}, timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["assets"][0]["id"])


def _submit(server: LiveServer, asset_id: str, pipeline: list[dict[str, Any]]) -> str:
    r = httpx.post(f"{server.url}/api/v1/jobs", json={"inputs": [asset_id], "pipeline": pipeline}, timeout=30)
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _status(server: LiveServer, job_id: str) -> str:
    return str(httpx.get(f"{server.url}/api/v1/jobs/{job_id}", timeout=30).json()["status"])


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


# A few hundred ms of work per job on these machines: the queue is still long when a worker is killed.
SLOW = [{"op": "convert", "params": {"format": "avif", "speed": 4, "quality": 80}}]
SLOWEST = [{"op": "convert", "params": {"format": "avif", "speed": 2, "quality": 90}}]  # seconds on a 320x240 input


def test_killing_a_pool_worker_retries_only_its_job_and_every_queued_job_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, tmp_path / "server.log", PIXMILL_WORKERS="2").start()
    assert server.proc is not None
    api = server.proc.pid
    try:
        # The first two jobs take seconds, the rest a few hundred ms: when both workers are seen on the first two,
        # the one killed is surely inside its job, not between two short ones (where no attempt would be counted).
        long = _upload(server, images.encode(images.noise(320, 240), "PNG"))
        asset = _upload(server, images.encode(images.noise(160, 120), "PNG"))
        ids = [_submit(server, long, SLOWEST) for _ in range(2)] + [_submit(server, asset, SLOW) for _ in range(10)]
        _wait("both workers busy", lambda: [_status(server, i) for i in ids[:2]] == ["PROCESSING"] * 2, 60)
        workers = _pool_workers(api)
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)
        killed_at = time.monotonic()
        _wait("the worker did not die", lambda: workers[0] not in _pool_workers(api), 5)

        # No new work is submitted: the pool is healthy again by itself.
        _wait("health not ok within 2 s", lambda: httpx.get(f"{server.url}/api/health").status_code == 200, 2)
        assert time.monotonic() - killed_at < 2.5
        _wait("the dead worker was not replaced", lambda: len(_pool_workers(api)) == 2, 5)

        _wait("jobs did not finish", lambda: all(_status(server, i) in ("COMPLETED", "FAILED") for i in ids), 240)
        assert [_status(server, i) for i in ids] == ["COMPLETED"] * 12
        assert workers[1] in _pool_workers(api)  # the sibling was never touched
        assert len(_pool_workers(api)) == 2  # and the dead one was replaced
    finally:
        server.stop()
    engine = create_engine(f"sqlite:///{data_dir.resolve() / 'pixmill.db'}")
    with engine.connect() as conn:
        attempts = {row[0]: row[1] for row in conn.execute(text("SELECT id, attempts FROM jobs"))}
    engine.dispose()
    # Only the job the dead worker ran (one of the two long ones) counted a second attempt.
    assert sorted(attempts[i] for i in ids[:2]) == [1, 2]
    assert [attempts[i] for i in ids[2:]] == [1] * 10


def test_a_job_whose_worker_dies_three_times_fails_and_the_jobs_behind_it_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, tmp_path / "server.log").start()  # one pool process
    assert server.proc is not None
    api = server.proc.pid
    engine = create_engine(f"sqlite:///{data_dir.resolve() / 'pixmill.db'}")

    def attempts(job_id: str) -> tuple[str, int]:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT status, attempts FROM jobs WHERE id=:id"), {"id": job_id}).one()
        return str(row[0]), int(row[1])

    try:
        doomed = _submit(server, _upload(server, images.encode(images.noise(320, 240), "PNG")), SLOWEST)
        behind = _submit(server, _upload(server, images.encode(images.noise(16, 12), "PNG")), SLOW)
        for attempt in (1, 2, 3):
            running = ("PROCESSING", attempt)
            _wait(f"attempt {attempt} never started", lambda: attempts(doomed) == running, 60)  # noqa: B023
            (worker,) = _pool_workers(api)
            os.kill(worker, signal.SIGKILL)
        # The retry goes to the back of the queue: a job that kills its worker holds up no other.
        _wait("jobs did not finish", lambda: _status(server, doomed) not in ("PENDING", "PROCESSING"), 60)
        assert _status(server, behind) == "COMPLETED"
        job = httpx.get(f"{server.url}/api/v1/jobs/{doomed}").json()
        assert job["status"] == "FAILED"
        assert "gave up after 3 attempts" in job["error"]
        assert attempts(doomed) == ("FAILED", 3)
    finally:
        server.stop()
        engine.dispose()


def test_killing_the_api_process_leaves_no_pool_process_behind(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path / "server.log", PIXMILL_WORKERS="2").start()
    assert server.proc is not None
    try:
        asset = _upload(server, images.encode(images.noise(160, 120), "PNG"))
        ids = [_submit(server, asset, SLOW) for _ in range(4)]
        _wait("workers busy", lambda: "PROCESSING" in [_status(server, i) for i in ids], 60)
        children = _children(server.proc.pid)
        assert len(_pool_workers(server.proc.pid)) == 2, children
        assert any("resource_tracker" in cmd for cmd in children.values()), children
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        _wait(f"orphans left: {children}", lambda: not any(_alive(pid) for pid in children), 10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)  # whatever the test failed to see die


def test_sigterm_lets_running_jobs_finish_and_queued_jobs_run_at_the_next_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, tmp_path / "server.log").start()  # one worker: one job runs, the others queue
    assert server.proc is not None
    try:
        asset = _upload(server, images.encode(images.noise(160, 120), "PNG"))
        ids = [_submit(server, asset, SLOW) for _ in range(4)]
        _wait("job never started", lambda: _status(server, ids[0]) == "PROCESSING", 60)
        os.killpg(server.proc.pid, signal.SIGTERM)  # to the whole group, as systemd does: workers finish their job
        assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
    finally:
        server.stop()
    engine = create_engine(f"sqlite:///{data_dir.resolve() / 'pixmill.db'}")
    with engine.connect() as conn:
        rows = {row[0]: row[1] for row in conn.execute(text("SELECT id, status FROM jobs"))}
    engine.dispose()
    assert rows[ids[0]] == "COMPLETED"
    assert [rows[i] for i in ids[1:]] == ["PENDING"] * 3

    server = LiveServer(data_dir, tmp_path / "server.log").start()
    try:
        _wait("queued jobs not run after restart", lambda: all(_status(server, i) == "COMPLETED" for i in ids), 120)
    finally:
        server.stop()


def test_sigterm_past_the_grace_period_kills_the_job_without_counting_its_attempt(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = LiveServer(data_dir, tmp_path / "server.log", PIXMILL_SHUTDOWN_GRACE_S="0").start()
    assert server.proc is not None
    try:
        asset = _upload(server, images.encode(images.noise(320, 240), "PNG"))
        job_id = _submit(server, asset, SLOWEST)
        _wait("job never started", lambda: _status(server, job_id) == "PROCESSING", 60)
        workers = _pool_workers(server.proc.pid)
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it is done
        _wait("worker outlived the API", lambda: not any(_alive(pid) for pid in workers), 5)
    finally:
        server.stop()
    engine = create_engine(f"sqlite:///{data_dir.resolve() / 'pixmill.db'}")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, attempts FROM jobs WHERE id=:id"), {"id": job_id}).one()
    engine.dispose()
    assert tuple(row) == ("PENDING", 0)


def _cpu_ticks(pid: int) -> int:
    """User + system CPU ticks a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_a_render_whose_worker_dies_answers_503_and_the_next_try_renders(tmp_path: Path) -> None:
    server = LiveServer(tmp_path / "data", tmp_path / "server.log").start()  # one pool process
    assert server.proc is not None
    api = server.proc.pid
    try:
        asset = _upload(server, images.encode(images.noise(320, 240), "PNG"))
        ann = live_account(tmp_path / "data", "ann@example.org").headers  # signing render URLs needs an account
        signed = httpx.post(
            f"{server.url}/api/v1/render-urls",
            json={"path": f"avif:speed=2,quality=90/{asset}"},
            headers=ann,
            timeout=30,
        )
        assert signed.status_code == 200, signed.text
        url = signed.json()["url"]
        warm = httpx.post(
            f"{server.url}/api/v1/render-urls", json={"path": f"png/{asset}"}, headers=ann, timeout=30
        ).json()["url"]
        assert httpx.get(warm, timeout=60).status_code == 200  # the pool starts its process on first use
        _wait("no pool process", lambda: len(_pool_workers(api)) == 1, 30)
        (worker,) = _pool_workers(api)
        idle = _cpu_ticks(worker)
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(1) as executor:
            answer = executor.submit(client.get, url)
            _wait("the render never started", lambda: _cpu_ticks(worker) - idle >= 20, 30)  # 0.2 s of CPU in it
            os.kill(worker, signal.SIGKILL)
            r = answer.result()
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json" and r.headers["retry-after"] == "1"
        assert "stopped" in r.json()["detail"]
        again = httpx.get(url, timeout=60)
        assert again.status_code == 200 and again.headers["content-type"] == "image/avif"
    finally:
        server.stop()
