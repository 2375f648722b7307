"""A job message that is rejected, or that exceeds its retries, lands in the dead-letter queue `pixmill.dead`,
and its job is FAILED with the reason (never left PENDING or PROCESSING); `pixmill dlq requeue` runs it again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kombu import Connection, Producer
from typer.testing import CliRunner

from pixmill.app import create_app
from pixmill.cli import app as cli
from pixmill.worker.celery_app import dead_queue, jobs_exchange, work_queue
from tests import images
from tests.conftest import make_settings, submit, upload, wait_for
from tests.distributed.conftest import db_rows, queue_depth, wait_until, worker_env

pytestmark = pytest.mark.distributed

RESIZE = [{"op": "resize", "params": {"width": 40}}]


def _dead(broker_url: str) -> int:
    with Connection(broker_url) as conn:
        return int(dead_queue(conn.default_channel).queue_declare(passive=True).message_count)


def _listed(job_id: str) -> str:
    """The line of `pixmill dlq list` about the message of job `job_id`."""
    listed = CliRunner().invoke(cli, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    lines = [line for line in listed.output.splitlines() if line.split()[:2] == [job_id, "pixmill.run_job"]]
    assert len(lines) == 1, listed.output
    return lines[0]


def _use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """The CLI reads its settings from the environment: the test's ones."""
    for name, value in env.items():
        if name.startswith("PIXMILL_"):
            monkeypatch.setenv(name, value)


def test_a_job_past_its_retries_is_failed_and_dead_lettered_and_requeue_runs_it_again(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        runner="celery",
        workers=1,
        job_retries=1,
        job_retry_backoff_s=0.2,
    )
    start_worker("standard", settings)
    _use_env(monkeypatch, worker_env(settings))
    data = images.jpeg(160, 120)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", data))
        stored = settings.resolved_storage_dir / "uploads" / asset["id"]
        stored.unlink()
        stored.mkdir()  # reading it is an OSError every time: a "passing" error that does not pass

        job = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])
        assert job["status"] == "FAILED", job
        assert job["error"].startswith("gave up after 2 tries on a passing error: IsADirectoryError"), job
        wait_until(lambda: _dead(broker_url) == 1, 20, "the message never reached pixmill.dead")

        assert "reason=rejected queue=standard deaths=1 requeued=0" in _listed(job["id"])

        stored.rmdir()
        stored.write_bytes(data)  # the cause is mended: run it again
        requeued = CliRunner().invoke(cli, ["dlq", "requeue"])
        assert requeued.exit_code == 0, requeued.output
        assert f"requeued {job['id']} onto standard" in requeued.output
        assert "1 message(s) requeued, 1 failed job(s) back to PENDING" in requeued.output

    # A new API process: this one keeps the FAILED job it served in its in-process cache (see the report on
    # snapshots: only a shared Redis cache hears the CLI's invalidation).
    with TestClient(create_app(settings)) as client:
        again = wait_for(client, job["id"])
        assert again["status"] == "COMPLETED", again
        assert again["error"] is None and len(again["outputs"]) == 1
    assert _dead(broker_url) == 0
    ((attempts,),) = db_rows(settings, "SELECT attempts FROM jobs WHERE id=:id", id=job["id"])
    assert attempts == 1  # counted afresh after the requeue


def test_a_rejected_job_message_leaves_its_job_failed_with_the_reason(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url, broker_url=broker_url, runner="celery", workers=1)
    _use_env(monkeypatch, worker_env(settings))
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(160, 120)))
        job_id = submit(client, [asset["id"]], RESIZE)["id"]  # no worker yet: its message waits
        with Connection(broker_url) as conn:
            assert work_queue("standard")(conn.default_channel).purge() == 1
            Producer(conn.default_channel).publish(  # a damaged copy of it takes its place
                b"\xff\xfe{not json",
                exchange=jobs_exchange,
                routing_key="standard",
                content_type="application/json",
                content_encoding="utf-8",
                headers={"task": "pixmill.run_job", "id": job_id},
                delivery_mode=2,
            )
        start_worker("standard", settings)
        job = wait_for(client, job_id)
        assert job["status"] == "FAILED", job
        assert job["error"].startswith("its queue message was dead-lettered (undecodable: "), job
        assert "`pixmill dlq list`" in job["error"]
    assert queue_depth(broker_url, "standard") == 0
    assert "reason=rejected queue=standard" in _listed(job_id)


def test_requeue_by_id_moves_one_dead_letter_and_purge_drops_the_rest(
    tmp_path: Path, postgres_url: str, broker_url: str, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        tmp_path,
        database_url=postgres_url,
        broker_url=broker_url,
        runner="celery",
        workers=1,
        job_retries=0,
    )
    start_worker("standard", settings)
    _use_env(monkeypatch, worker_env(settings))
    data = images.jpeg(160, 120)
    with TestClient(create_app(settings)) as client:
        assets = upload(client, ("a.jpg", data), ("b.jpg", data), ("c.jpg", data))
        stored = [settings.resolved_storage_dir / "uploads" / a["id"] for a in assets]
        for path in stored:
            path.unlink()
            path.mkdir()  # an OSError on every read: each job gives up at once (no retries) and is dead-lettered
        jobs = [wait_for(client, submit(client, [a["id"]], RESIZE)["id"]) for a in assets]
        assert [j["status"] for j in jobs] == ["FAILED"] * 3, jobs
        wait_until(lambda: _dead(broker_url) == 3, 20, "the messages never reached pixmill.dead")
        first, second, third = (j["id"] for j in jobs)

        for path in stored:
            path.rmdir()
            path.write_bytes(data)
        requeued = CliRunner().invoke(cli, ["dlq", "requeue", "--id", second])
        assert requeued.exit_code == 0, requeued.output
        assert f"requeued {second} onto standard" in requeued.output
        assert "1 message(s) requeued, 1 failed job(s) back to PENDING" in requeued.output
        assert _dead(broker_url) == 2
        listed = CliRunner().invoke(cli, ["dlq", "list"]).output
        assert [line.split()[0] for line in listed.splitlines()[:2]] == [first, third]  # the others, in order

        missing = CliRunner().invoke(cli, ["dlq", "requeue", "--id", second])  # no longer dead-lettered
        assert missing.exit_code == 1
        assert f"no dead-lettered message of job {second}" in missing.output
        assert _dead(broker_url) == 2

        purged = CliRunner().invoke(cli, ["dlq", "purge"])
        assert purged.exit_code == 0, purged.output
        assert "2 dead-lettered message(s) dropped" in purged.output
        assert _dead(broker_url) == 0

    with TestClient(create_app(settings)) as client:  # a new API process: see the first test
        assert wait_for(client, second)["status"] == "COMPLETED"
        for job_id in (first, third):
            job = client.get(f"/api/v1/jobs/{job_id}").json()
            assert job["status"] == "FAILED", job  # purged: their jobs stay as they were
    assert queue_depth(broker_url, "standard") == 0
