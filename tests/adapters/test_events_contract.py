"""The job-events port's contract: every adapter (in-process fan-out, Redis pub/sub) delivers what is published to
the subscribers of that job. The live event stream of the API (SSE) is in tests/jobs/test_events.py."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pixmill.adapters.build import build_adapters
from pixmill.adapters.events import EventsUnavailable, JobEvents, emit
from pixmill.adapters.events.local import LocalEvents
from pixmill.adapters.events.redis import RedisEvents
from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.session import make_engine, make_sessionmaker
from tests.conftest import make_settings
from tests.live import free_port


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
def events(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobEvents]:
    """The job events adapters/build.py makes: in-process (embedded) or Redis pub/sub."""
    settings = request.getfixturevalue("redis_settings") if request.param == "redis" else make_settings(tmp_path)
    engine = make_engine(settings.resolved_database_url)
    adapters = build_adapters(settings, make_sessionmaker(engine))
    assert isinstance(adapters.events, RedisEvents if request.param == "redis" else LocalEvents)
    yield adapters.events
    adapters.events.close()
    if adapters.redis is not None:
        adapters.redis.close()
    engine.dispose()


def _publish_from_a_child(relay: Any, job_id: str) -> None:
    emit(LocalEvents(forward=relay), job_id, "status", "PROCESSING")


def test_subscribers_hear_the_events_of_their_job_only(events: JobEvents) -> None:
    async def scenario() -> None:
        first, second, other = [await events.subscribe(j) for j in ("j1", "j1", "j2")]
        emit(events, "j1", "status", "PROCESSING")
        for sub in (first, second):
            event = await sub.get(5)
            assert event is not None and (event["job_id"], event["status"]) == ("j1", "PROCESSING")
        assert await other.get(0.1) is None
        for sub in (first, second, other):
            await sub.close()
        if isinstance(events, LocalEvents):
            assert events.subscriber_count("j1") == 0

    asyncio.run(scenario())


def test_a_subscriber_hears_events_in_order_with_their_fields(events: JobEvents) -> None:
    async def scenario() -> None:
        sub = await events.subscribe("j1")
        try:
            emit(events, "j1", "step", "PROCESSING", node=1)
            emit(events, "j1", "status", "COMPLETED", outputs=2)
            first, second = await sub.get(5), await sub.get(5)
            assert first is not None and (first["type"], first["node"]) == ("step", 1)
            assert second is not None and (second["type"], second["status"], second["outputs"]) == (
                "status",
                "COMPLETED",
                2,
            )
            assert {"job_id", "at"} <= set(second)
        finally:
            await sub.close()

    asyncio.run(scenario())


def test_check_passes_while_events_can_be_delivered(events: JobEvents) -> None:
    events.check()


def test_local_events_relay_what_a_spawned_process_publishes() -> None:
    events = LocalEvents()
    relay = events.worker_relay()

    async def scenario() -> None:
        sub = await events.subscribe("j1")
        child = multiprocessing.get_context("spawn").Process(target=_publish_from_a_child, args=(relay, "j1"))
        child.start()
        event = await sub.get(30)
        await asyncio.to_thread(child.join, 30)
        assert event is not None and event["status"] == "PROCESSING"
        await sub.close()

    try:
        asyncio.run(scenario())
    finally:
        events.close()


@pytest.mark.redis
def test_a_redis_subscriber_on_one_context_hears_what_another_publishes(redis_settings: Settings) -> None:
    listener, publisher = Context.from_settings(redis_settings), Context.from_settings(redis_settings)
    assert isinstance(publisher.events, RedisEvents)

    async def scenario() -> None:
        sub = await listener.events.subscribe("j1")
        try:
            emit(publisher.events, "j2", "status", "PROCESSING")  # another job's channel: not heard
            emit(publisher.events, "j1", "status", "COMPLETED", outputs=2)
            event = await sub.get(5)
            assert event is not None
            assert {k: event[k] for k in ("type", "job_id", "status", "outputs")} == {
                "type": "status",
                "job_id": "j1",
                "status": "COMPLETED",
                "outputs": 2,
            }
            assert await sub.get(0.2) is None
            assert publisher.redis is not None  # the channel is <prefix>job:<id>, for anyone else to listen to
            publisher.redis.publish(f"{redis_settings.redis_prefix}job:j1", json.dumps({"type": "step"}))
            assert await sub.get(5) == {"type": "step"}
        finally:
            await sub.close()

    try:
        asyncio.run(scenario())
    finally:
        listener.close()
        publisher.close()


def test_an_unreachable_redis_bus_raises_events_unavailable_and_emit_only_logs_it(tmp_path: Path) -> None:
    ctx = Context.from_settings(make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with pytest.raises(EventsUnavailable, match="unreachable"):
            ctx.events.check()
        with pytest.raises(EventsUnavailable, match="unreachable"):
            asyncio.run(ctx.events.subscribe("j1"))
        with pytest.raises(EventsUnavailable, match="unreachable"):
            ctx.events.publish("j1", {"type": "status"})
        emit(ctx.events, "j1", "status", "PROCESSING")  # best effort: no job fails for want of a listener
    finally:
        ctx.close()
