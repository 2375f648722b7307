"""The Redis connection behind the distributed adapters (PIXMILL_REDIS_URL), and a breaker for optional work.

Needs the `redis` extra (redis-py). One client per process, made by the Context; redis-py connects lazily, so a
process starts while Redis is down and the health check says so.
"""

from __future__ import annotations

import threading
import time

try:
    import redis
    import redis.asyncio
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "PIXMILL_REDIS_URL needs redis-py: install pixmill with the redis extra (pip install 'pixmill[redis]')"
    ) from exc

CONNECT_TIMEOUT_S = 3.0
SOCKET_TIMEOUT_S = 5.0


def connect(url: str) -> redis.Redis:
    """A pooled, thread-safe client for `url` (bytes in and out)."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S, health_check_interval=30
    )


def connect_async(url: str) -> redis.asyncio.Redis:
    """An asyncio client for `url`, for a subscription of the running event loop (no read timeout: it waits)."""
    return redis.asyncio.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)


class Breaker:
    """After a failure, skip optional Redis work (events, cache) for `quiet_s` instead of paying a timeout
    on every call while the server is down."""

    def __init__(self, quiet_s: float = 5.0) -> None:
        self.quiet_s = quiet_s
        self._until = 0.0
        self._lock = threading.Lock()

    @property
    def open(self) -> bool:
        """Whether calls are being skipped now."""
        return time.monotonic() < self._until

    def trip(self) -> None:
        with self._lock:
            self._until = time.monotonic() + self.quiet_s
