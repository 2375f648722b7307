"""The cache port: both adapters keep, expire and forget values alike; the embedded one is a bounded LRU."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixmill.adapters.cache import Cache
from pixmill.adapters.cache.memory import MemoryCache
from pixmill.adapters.cache.redis import RedisCache
from pixmill.config import Settings
from pixmill.context import Context
from tests.conftest import make_settings


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cache]:
    """The cache a Context builds: in memory (embedded) or on Redis."""
    settings = request.getfixturevalue("redis_settings") if request.param == "redis" else make_settings(tmp_path)
    ctx = Context.from_settings(settings)
    assert isinstance(ctx.cache, RedisCache if request.param == "redis" else MemoryCache)
    yield ctx.cache
    ctx.close()


def test_a_value_is_kept_then_forgotten(cache: Cache) -> None:
    assert cache.get("a") is None
    cache.set("a", '{"x": 1}', 60)
    assert cache.get("a") == '{"x": 1}'
    cache.set("a", "two", 60)
    assert cache.get("a") == "two"
    cache.delete("a")
    assert cache.get("a") is None
    cache.delete("a")  # forgetting what is not there is fine


def test_a_value_expires_after_its_ttl(cache: Cache) -> None:
    cache.set("short", "s", 0.2)
    cache.set("long", "l", 60)
    cache.set("never", "n", 0)  # nothing to keep
    assert cache.get("short") == "s"
    time.sleep(0.35)
    assert cache.get("short") is None
    assert cache.get("long") == "l"
    assert cache.get("never") is None


def test_the_memory_cache_evicts_the_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2)
    cache.set("a", "1", 60)
    cache.set("b", "2", 60)
    assert cache.get("a") == "1"  # a is now the most recently used
    cache.set("c", "3", 60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("1", None, "3")
    assert len(cache) == 2


@pytest.mark.redis
def test_redis_values_live_under_the_prefix_with_their_ttl(redis_settings: Settings) -> None:
    ctx = Context.from_settings(redis_settings)
    try:
        ctx.cache.set("job:1", "v", 30)
        assert ctx.redis is not None
        name = f"{redis_settings.redis_prefix}cache:job:1"
        assert ctx.redis.get(name) == b"v"
        assert 0 < ctx.redis.pttl(name) <= 30_000
    finally:
        ctx.close()


def test_an_unreachable_redis_cache_misses_instead_of_failing(tmp_path: Path) -> None:
    from tests.live import free_port

    ctx = Context.from_settings(make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        ctx.cache.set("a", "1", 60)
        assert ctx.cache.get("a") is None
        ctx.cache.delete("a")
    finally:
        ctx.close()
