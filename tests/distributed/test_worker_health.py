"""`pixmill worker-health`: a health check of a worker outside containers, by a ping through the broker."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from pixmill.cli import app as cli
from pixmill.config import Settings
from tests.distributed.conftest import worker_env

pytestmark = pytest.mark.distributed


def test_worker_health_answers_for_a_running_worker_and_fails_without_one(
    celery_settings: Settings, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env(celery_settings).items():
        if name.startswith("PIXMILL_"):
            monkeypatch.setenv(name, value)
    runner = CliRunner()
    assert runner.invoke(cli, ["worker-health", "--timeout", "1"]).exit_code == 1  # none started yet

    worker = start_worker("standard")
    assert worker.proc is not None
    ok = runner.invoke(cli, ["worker-health", "--queues", "standard", "--pid", str(worker.proc.pid)])
    assert ok.exit_code == 0, ok.output
    assert f"pixmill-standard-{worker.proc.pid}@" in ok.output and "pong" in ok.output
    assert runner.invoke(cli, ["worker-health", "--timeout", "2"]).exit_code == 0
    other = runner.invoke(cli, ["worker-health", "--queues", "ml", "--timeout", "1"])
    assert other.exit_code == 1
    assert "no worker pixmill-ml-*@" in other.output

    worker.stop()
    gone = runner.invoke(cli, ["worker-health", "--pid", str(worker.proc.pid), "--timeout", "1"])
    assert gone.exit_code == 1
