"""Job events: both adapters deliver what is published, and GET /api/v1/jobs/{id}/events streams a job live."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pixmill.adapters.events import Subscription
from pixmill.adapters.events.local import LocalEvents
from pixmill.adapters.events.redis import RedisEvents
from pixmill.app import create_app
from pixmill.context import Context
from pixmill.imaging.pipeline import parse_pipeline
from pixmill.jobs import live, service
from tests import images
from tests.conftest import make_settings, upload

RESIZE = [{"op": "resize", "params": {"width": 30}}, {"op": "convert", "params": {"format": "png"}}]


def parse_sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """(event name, JSON data) of each event of a text/event-stream body; comments are skipped."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def _subscribed(ctx: Context, job_id: str) -> bool:
    if isinstance(ctx.events, LocalEvents):
        return ctx.events.subscriber_count(job_id) > 0
    assert isinstance(ctx.events, RedisEvents) and ctx.redis is not None
    ((_, count),) = ctx.redis.pubsub_numsub(ctx.events.channel(job_id))
    return int(count) > 0


@pytest.mark.parametrize("adapter", ["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def test_the_event_stream_follows_a_job_from_pending_to_completed(
    adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    settings = request.getfixturevalue("redis_settings") if adapter == "redis" else make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        (asset,) = upload(client, ("q.jpg", images.jpeg(120, 90)))
        ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
        # Recorded but not queued yet: the stream is open before the job can move.
        job, _ = service.create_job(
            ctx, pipeline=parse_pipeline(RESIZE), input_ids=[asset["id"]], base_url="http://x", request_id=None
        )
        with ThreadPoolExecutor(1) as pool:
            streamed = pool.submit(client.get, f"/api/v1/jobs/{job.id}/events")
            deadline = time.monotonic() + 10
            while not _subscribed(ctx, job.id):
                assert time.monotonic() < deadline, "the stream never subscribed"
                time.sleep(0.02)
            client.app.state.runner.submit(job.id)  # type: ignore[attr-defined]
            response = streamed.result(timeout=60)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "state" and events[0][1]["status"] == "PENDING"
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses == ["PROCESSING", "COMPLETED"], events
    steps = [data["op"] for name, data in events if name == "step"]
    assert steps == ["decode", "resize", "convert"], events  # live, from the worker process, between the two
    assert names.index("step") > names.index("status")
    assert names[-1] == "state"
    final = events[-1][1]
    assert final["status"] == "COMPLETED" and final["outputs"][0]["width"] == 30
    assert final["outputs"][0]["url"].startswith("http://testserver/")


def test_the_event_stream_of_a_finished_job_is_its_state_alone(client: TestClient) -> None:
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = client.post("/api/v1/jobs", json={"inputs": [asset["id"]], "pipeline": RESIZE}).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/jobs/{job_id}").json()["status"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = parse_sse(client.get(f"/api/v1/jobs/{job_id}/events").text)
    assert [(name, data["status"]) for name, data in events] == [("state", "COMPLETED")]


def test_the_event_stream_of_an_unknown_job_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/jobs/nope/events")
    assert r.status_code == 404
    assert "nope" in r.json()["detail"]
    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    assert isinstance(ctx.events, LocalEvents) and ctx.events.subscriber_count("nope") == 0


def test_the_event_stream_still_ends_when_no_event_arrives(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    class Deaf:
        async def get(self, timeout: float) -> dict[str, Any] | None:
            await asyncio.sleep(timeout)
            return None

        async def close(self) -> None:
            pass

    async def deaf(job_id: str) -> Subscription:
        return Deaf()

    ctx: Context = client.app.state.ctx  # type: ignore[attr-defined]
    monkeypatch.setattr(ctx.events, "subscribe", deaf)
    monkeypatch.setattr(live, "IDLE_S", 0.1)
    (asset,) = upload(client, ("q.jpg", images.jpeg(40, 30)))
    job_id = client.post("/api/v1/jobs", json={"inputs": [asset["id"]], "pipeline": RESIZE}).json()["id"]
    events = parse_sse(client.get(f"/api/v1/jobs/{job_id}/events").text)
    assert events[-1][0] == "state" and events[-1][1]["status"] == "COMPLETED"
    assert ("status", "COMPLETED") in [(name, data["status"]) for name, data in events]
