"""Fixtures of the celery runner's tests: a RabbitMQ vhost of their own, real `pixmill worker` processes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kombu import Connection
from sqlalchemy import create_engine, text

from pixmill.config import Settings
from pixmill.worker.celery_app import work_queue
from tests.conftest import make_settings
from tests.distributed.servers import PrivateRabbit, PrivateSeaweed
from tests.live import free_port

RABBIT = "amqp://guest:guest@127.0.0.1:5672"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def broker_url() -> Iterator[str]:
    """A fresh RabbitMQ vhost (its queues and exchanges go with it), deleted after the test."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not available to create an isolated vhost")
    vhost = f"pixmill_test_{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"{RABBIT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def celery_settings(tmp_path: Path, postgres_url: str, broker_url: str) -> Settings:
    """Settings of the API: PostgreSQL, local storage under tmp_path (shared with the workers), celery."""
    return make_settings(tmp_path, database_url=postgres_url, broker_url=broker_url, runner="celery", workers=1)


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a `pixmill` process with the same settings as the test's API (every field)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIXMILL_")}
    for name, value in settings.model_dump(mode="json").items():
        if value is not None:
            env[f"PIXMILL_{name.upper()}"] = str(value)
    env.update(
        {
            "PIXMILL_DATA_DIR": str(settings.resolved_data_dir),
            "PIXMILL_DATABASE_URL": settings.resolved_database_url,
            "PIXMILL_SECRET_KEY": settings.signing_key.decode(),
            "PIXMILL_MODELS_DIR": str(settings.resolved_models_dir),
            "PIXMILL_WORKERS": "1",
            "PIXMILL_RUNNER": "celery",
        }
    )
    return env


def consumers(broker_url: str, queue: str) -> int:
    with Connection(broker_url) as conn:
        q = work_queue(queue)(conn.default_channel)
        return int(q.queue_declare(passive=True).consumer_count)


class Worker:
    """A `python -m pixmill worker` process in its own session, so it and its pool die together."""

    def __init__(self, settings: Settings, log_path: Path, queue: str = "standard") -> None:
        self.settings, self.log_path, self.queue = settings, log_path, queue
        self.proc: subprocess.Popen[bytes] | None = None
        self.terminated = False

    def start(self, timeout: float = 45) -> Worker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pixmill", "worker", "--queues", self.queue, "--concurrency", "1"],
            env=worker_env(self.settings),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            try:
                if consumers(self.settings.broker_url, self.queue) > 0:
                    return self
            except Exception:  # the queue is not declared yet
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"worker did not start: {self.log_path.read_text()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a power cut would."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        """Ask for a warm shutdown (SIGTERM) without waiting for it."""
        if self.proc is not None and self.proc.poll() is None and not self.terminated:
            self.proc.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        else:  # pool children that outlived their parent
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


@pytest.fixture
def start_worker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """start_worker(queue, settings) -> a started Worker (default: celery_settings); all are stopped after the test."""
    started: list[Worker] = []

    def start(queue: str = "standard", settings: Settings | None = None) -> Worker:
        settings = settings or request.getfixturevalue("celery_settings")
        worker = Worker(settings, tmp_path / f"worker-{len(started)}.log", queue)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:  # all at once: each takes a few seconds to shut down
        worker.terminate()
    for worker in started:
        worker.stop()


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[PrivateRabbit]:
    """A started RabbitMQ node of this test's own (to stop and start); killed after the test."""
    node = PrivateRabbit(tmp_path / "rabbitmq")
    try:
        node.start()
        yield node
    finally:
        node.kill()


@pytest.fixture
def private_seaweed(tmp_path: Path) -> Iterator[PrivateSeaweed]:
    """A started SeaweedFS of this test's own (to stop and start); killed after the test."""
    store = PrivateSeaweed(tmp_path / "seaweedfs")
    try:
        store.start()
        yield store
    finally:
        store.kill()


def queue_depth(broker_url: str, queue: str) -> int:
    """Messages ready in a work queue (not those a worker holds unacknowledged)."""
    with Connection(broker_url) as conn:
        q = work_queue(queue)(conn.default_channel)
        return int(q.queue_declare(passive=True).message_count)


def db_rows(settings: Settings, sql: str, **params: Any) -> list[Any]:
    """Rows of one query on the test's database."""
    engine = create_engine(settings.resolved_database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def log_records(log: str) -> list[dict[str, Any]]:
    """The JSON log records of a worker's log (Celery's banner and warnings are plain text)."""
    records = []
    for line in log.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                records.append(json.loads(line))
    return records


def wait_until(condition: Any, timeout: float, message: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} (after {timeout} s)")
        time.sleep(interval)


@contextlib.contextmanager
def api_processes(settings: Settings, workers: int = 1) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`pixmill serve --workers N` with the test's settings, once it answers: (its process, its URL); stopped after."""
    port = free_port()
    env = {**worker_env(settings), "PIXMILL_LOG_LEVEL": "WARNING"}
    args = [sys.executable, "-m", "pixmill", "serve", "--workers", str(workers), "--port", str(port)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ready = False
        while time.monotonic() < deadline and not ready:
            try:  # livez answers once the lifespan (and its start-up work) is done
                ready = httpx.get(f"{url}/api/livez", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ready, "the API did not answer"
        yield proc, url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
