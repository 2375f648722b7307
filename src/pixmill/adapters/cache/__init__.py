"""The cache port for hot reads: text values by key, each with a time to live.

Adapters: an in-process LRU bounded in entries (embedded, memory.py) and Redis `GET`/`SET PX`/`DEL` under
`<prefix>cache:` (redis.py, shared by every API instance). A cache is never the record: a miss, and any error
(logged), means "read the source"; only data that no longer changes, or whose staleness the TTL bounds, belongs
here. So the port has no error type: its adapters raise nothing (a Redis failure is logged and read as a miss).
"""

from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    def get(self, key: str) -> str | None:
        """The value under `key`, or None when missing, expired, or the cache is unreachable."""

    def set(self, key: str, value: str, ttl_s: float) -> None:
        """Keep `value` under `key` for at most `ttl_s` seconds."""

    def delete(self, key: str) -> None: ...
