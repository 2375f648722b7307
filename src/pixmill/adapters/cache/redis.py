"""The distributed cache: values in Redis, shared by every API instance."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pixmill.adapters.redis_client import Breaker

if TYPE_CHECKING:
    import redis

log = logging.getLogger("pixmill.cache")


class RedisCache:
    """Values under `<prefix>cache:<key>`; while Redis fails, reads miss and writes are skipped for a moment."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
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
