"""The cache port for hot reads: text values by key, each with a time to live.

Adapters: an in-process LRU bounded in entries (embedded) and Redis `GET`/`SET PX`/`DEL` under `<prefix>cache:`
(shared by every API instance). A cache is never the record: a miss, and any error (logged), means "read the
source"; only data that no longer changes, or whose staleness the TTL bounds, belongs here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis

log = logging.getLogger("pixmill.cache")


class Cache(Protocol):
    def get(self, key: str) -> str | None:
        """The value under `key`, or None when missing, expired, or the cache is unreachable."""

    def set(self, key: str, value: str, ttl_s: float) -> None:
        """Keep `value` under `key` for at most `ttl_s` seconds."""

    def delete(self, key: str) -> None: ...


class MemoryCache:
    """An LRU of at most `max_entries` values in this process; expired entries go on read or when evicted."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: str, ttl_s: float) -> None:
        if ttl_s <= 0:
            return
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class RedisCache:
    """Values under `<prefix>cache:<key>`; while Redis fails, reads miss and writes are skipped for a moment."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        from pixmill.adapters.redis_client import Breaker

        self.client = client
        self.prefix = f"{prefix}cache:"
        self._breaker = Breaker()

    def get(self, key: str) -> str | None:
        if self._breaker.open:
            return None
        try:
            value = self.client.get(self.prefix + key)
        except Exception as exc:
            self._failed("get", exc)
            return None
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def set(self, key: str, value: str, ttl_s: float) -> None:
        if ttl_s <= 0 or self._breaker.open:
            return
        try:
            self.client.set(self.prefix + key, value, px=max(1, round(ttl_s * 1000)))
        except Exception as exc:
            self._failed("set", exc)

    def delete(self, key: str) -> None:
        # Tried even while the breaker is open: a stale entry is worse than a slow invalidation.
        try:
            self.client.delete(self.prefix + key)
        except Exception as exc:
            self._failed("delete", exc)

    def _failed(self, op: str, exc: Exception) -> None:
        self._breaker.trip()
        log.warning("cache unavailable", extra={"op": op, "error": repr(exc)})
