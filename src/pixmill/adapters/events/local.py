"""The embedded job events: fan-out to the subscribers of this process, relayed from its pool worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
from typing import Any

from pixmill.adapters.events import Event, Subscription

log = logging.getLogger("pixmill.events")


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
