"""The distributed job events: Redis pub/sub, so that every API instance hears what any worker publishes."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from pixmill.adapters.events import Event, EventsUnavailable, Subscription
from pixmill.adapters.redis_client import CONNECT_TIMEOUT_S, Breaker, connect_async

if TYPE_CHECKING:
    import redis
    import redis.asyncio


def _unavailable(exc: Exception) -> EventsUnavailable:
    return EventsUnavailable(f"the event bus (Redis) is unreachable ({type(exc).__name__}: {exc})")


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
        except Exception as exc:
            self._breaker.trip()
            raise _unavailable(exc) from exc

    async def subscribe(self, job_id: str) -> Subscription:
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
        except BaseException as exc:
            await pubsub.aclose()
            await conn.aclose()
            if isinstance(exc, Exception):
                raise _unavailable(exc) from exc
            raise
        return _RedisSubscription(conn, pubsub)

    def worker_relay(self) -> Any:
        """Nothing: workers publish to Redis themselves."""
        return None

    def check(self) -> None:
        try:
            self.client.ping()
        except Exception as exc:
            raise _unavailable(exc) from exc

    def close(self) -> None:
        """The client is the Context's to close."""
