"""The job-events port: every transition of a job is published; live views subscribe to one job's events.

Adapters: in-process fan-out (embedded; jobs run in spawned pool processes, whose events reach the API process
over a multiprocessing queue, see `LocalEvents.worker_relay`) and Redis pub/sub on the channel `<prefix>job:<id>`,
so that every API instance hears what any worker publishes. Events are best effort: the database stays the
record, and a subscriber that hears nothing for a while reads the job again.

An event is a JSON-able dict: `type` (status, step or webhook), `job_id`, `status`, `at`, and the fields of its type.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis
    import redis.asyncio

log = logging.getLogger("pixmill.events")

Event = dict[str, Any]


class Subscription(Protocol):
    async def get(self, timeout: float) -> Event | None:
        """The next event, or None when none came within `timeout` seconds."""

    async def close(self) -> None: ...


class JobEvents(Protocol):
    def publish(self, job_id: str, event: Event) -> None:
        """Send `event` to every current subscriber of job `job_id`."""

    async def subscribe(self, job_id: str) -> Subscription:
        """Listen to job `job_id` on the running event loop: every event published after this returns arrives."""

    def worker_relay(self) -> Any:
        """What pool worker processes need to publish to this process (Context.from_settings's `relay`), or None."""

    def check(self) -> None:
        """Raise if events cannot be delivered now."""

    def close(self) -> None: ...


def emit(events: JobEvents, job_id: str, kind: str, status: str, **fields: Any) -> None:
    """Publish one event of job `job_id`; a failure is logged, never raised (no job fails for want of a listener)."""
    event = {"type": kind, "job_id": job_id, "status": status, "at": datetime.now(UTC).isoformat(), **fields}
    try:
        events.publish(job_id, event)
    except Exception as exc:
        log.warning("job event not published", extra={"job": job_id, "event": kind, "error": repr(exc)})


class _LocalSubscription:
    def __init__(self, hub: LocalEvents, job_id: str) -> None:
        self.hub, self.job_id = hub, job_id
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    def deliver(self, event: Event) -> None:
        """Queue `event` for this subscriber; safe from any thread."""
        with contextlib.suppress(RuntimeError):  # the subscriber's event loop is closed: nobody listens
            self._loop.call_soon_threadsafe(self._queue.put_nowait, dict(event))

    async def get(self, timeout: float) -> Event | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def close(self) -> None:
        self.hub._remove(self)


class LocalEvents:
    """In-process fan-out to the subscribers of this process.

    In a pool worker (`forward` given) publishing puts the event on the queue to the API process instead, where
    a relay thread fans it out: the API process makes that queue with `worker_relay()` and hands it to its pools.
    """

    def __init__(self, forward: Any = None) -> None:
        self._forward = forward
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[_LocalSubscription]] = {}
        self._relay: Any = None
        self._relay_thread: threading.Thread | None = None

    def publish(self, job_id: str, event: Event) -> None:
        if self._forward is not None:
            self._forward.put((job_id, event))
        else:
            self._fan_out(job_id, event)

    def _fan_out(self, job_id: str, event: Event) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(job_id, ()))
        for subscriber in subscribers:
            subscriber.deliver(event)

    async def subscribe(self, job_id: str) -> Subscription:
        subscription = _LocalSubscription(self, job_id)
        with self._lock:
            self._subscribers.setdefault(job_id, set()).add(subscription)
        return subscription

    def _remove(self, subscription: _LocalSubscription) -> None:
        with self._lock:
            others = self._subscribers.get(subscription.job_id, set())
            others.discard(subscription)
            if not others:
                self._subscribers.pop(subscription.job_id, None)

    def subscriber_count(self, job_id: str) -> int:
        with self._lock:
            return len(self._subscribers.get(job_id, ()))

    def worker_relay(self) -> Any:
        """The queue pool workers publish into (spawn context), served by a relay thread from the first call."""
        with self._lock:
            if self._relay is None:
                self._relay = multiprocessing.get_context("spawn").Queue()
                self._relay_thread = threading.Thread(
                    target=self._serve_relay, args=(self._relay,), name="pixmill-events-relay", daemon=True
                )
                self._relay_thread.start()
            return self._relay

    def _serve_relay(self, relay: Any) -> None:
        while True:
            try:
                item = relay.get()
            except (EOFError, OSError):  # the queue was closed under us
                return
            if item is None:
                return
            job_id, event = item
            try:
                self._fan_out(job_id, event)
            except Exception:
                log.exception("job event not relayed", extra={"job": job_id})

    def check(self) -> None:
        """In-process delivery needs nothing outside this process."""

    def close(self) -> None:
        with self._lock:
            relay, thread = self._relay, self._relay_thread
            self._relay = self._relay_thread = None
        if relay is not None and thread is not None:
            relay.put(None)
            thread.join(timeout=5)
            relay.close()
            relay.join_thread()


class _RedisSubscription:
    def __init__(self, conn: redis.asyncio.Redis, pubsub: redis.asyncio.client.PubSub) -> None:
        self._conn, self._pubsub = conn, pubsub

    async def get(self, timeout: float) -> Event | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=remaining)
            if message is not None and message["type"] == "message":
                event: Event = json.loads(message["data"])
                return event
        return None

    async def close(self) -> None:
        try:
            await self._pubsub.aclose()
        finally:
            await self._conn.aclose()


class RedisEvents:
    """PUBLISH on `<prefix>job:<id>`; each subscription holds its own pub/sub connection on its event loop."""

    def __init__(self, client: redis.Redis, url: str, prefix: str) -> None:
        from pixmill.adapters.redis_client import Breaker

        self.client, self.url = client, url
        self.prefix = f"{prefix}job:"
        self._breaker = Breaker()

    def channel(self, job_id: str) -> str:
        return self.prefix + job_id

    def publish(self, job_id: str, event: Event) -> None:
        if self._breaker.open:  # Redis failed a moment ago: drop events rather than slow every job down
            return
        try:
            self.client.publish(self.channel(job_id), json.dumps(event))
        except Exception:
            self._breaker.trip()
            raise

    async def subscribe(self, job_id: str) -> Subscription:
        from pixmill.adapters.redis_client import CONNECT_TIMEOUT_S, connect_async

        conn = connect_async(self.url)
        pubsub = conn.pubsub()
        try:
            await pubsub.subscribe(self.channel(job_id))
            # Wait for the server's confirmation: from then on nothing published to the channel is missed.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CONNECT_TIMEOUT_S
            while True:
                message = await pubsub.get_message(timeout=max(0.0, deadline - loop.time()))
                if message is not None and message["type"] == "subscribe":
                    break
                if loop.time() >= deadline:
                    raise TimeoutError("Redis did not confirm the subscription")
        except BaseException:
            await pubsub.aclose()
            await conn.aclose()
            raise
        return _RedisSubscription(conn, pubsub)

    def worker_relay(self) -> Any:
        """Nothing: workers publish to Redis themselves."""
        return None

    def check(self) -> None:
        self.client.ping()

    def close(self) -> None:
        """The client is the Context's to close."""
