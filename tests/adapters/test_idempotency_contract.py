"""The idempotency port's contract: every adapter (the database table, Redis) claims, refuses, releases, keeps and
expires keys alike. How the jobs service uses the port (losers wait for the winner's job) is in tests/jobs/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixmill.adapters.build import build_adapters
from pixmill.adapters.idempotency import IdempotencyKeyReused, IdempotencyStore, IdempotencyUnavailable
from pixmill.adapters.idempotency.database import DatabaseIdempotency
from pixmill.adapters.idempotency.redis import RedisIdempotency
from pixmill.config import Settings
from pixmill.context import Context
from pixmill.db.session import make_engine, make_sessionmaker, upgrade
from tests.conftest import make_settings
from tests.live import free_port


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdempotencyStore]:
    """The idempotency store adapters/build.py makes: the embedded one on a fresh database, or Redis."""
    settings = request.getfixturevalue("redis_settings") if request.param == "redis" else make_settings(tmp_path)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    adapters = build_adapters(settings, make_sessionmaker(engine))
    assert isinstance(adapters.idempotency, RedisIdempotency if request.param == "redis" else DatabaseIdempotency)
    yield adapters.idempotency
    adapters.events.close()
    if adapters.redis is not None:
        adapters.redis.close()
    engine.dispose()


def test_the_first_claim_wins_and_later_ones_learn_the_holder(store: IdempotencyStore) -> None:
    assert store.claim("k", "job-a", 60) is None
    assert store.claim("k", "job-b", 60) == "job-a"
    assert store.claim("other", "job-b", 60) is None


def test_release_frees_only_the_holders_key(store: IdempotencyStore) -> None:
    assert store.claim("k", "job-a", 60) is None
    store.release("k", "job-b")  # not the holder: nothing happens
    assert store.claim("k", "job-c", 60) == "job-a"
    store.release("k", "job-a")
    assert store.claim("k", "job-c", 60) is None


def test_a_claim_expires_after_its_ttl(store: IdempotencyStore) -> None:
    assert store.claim("k", "job-a", 0.3) is None
    assert store.claim("k", "job-b", 0.3) == "job-a"
    time.sleep(0.5)
    assert store.claim("k", "job-b", 60) is None
    assert store.claim("k", "job-c", 60) == "job-b"


def test_a_claim_by_a_different_request_is_refused_naming_the_holder(store: IdempotencyStore) -> None:
    assert store.claim("k", "job-a", 60, "hash-a") is None
    assert store.claim("k", "job-b", 60, "hash-a") == "job-a"  # the same request: the holder's job
    with pytest.raises(IdempotencyKeyReused) as refused:
        store.claim("k", "job-b", 60, "hash-b")
    assert (refused.value.key, refused.value.job_id) == ("k", "job-a")
    store.keep("k", "job-a", 60, "hash-a")  # keeping and releasing read the job id, whatever the fingerprint
    assert store.claim("k", "job-c", 60, "hash-a") == "job-a"
    store.release("k", "job-a")
    assert store.claim("k", "job-c", 60, "hash-b") is None


def test_a_claim_made_without_a_fingerprint_matches_any_request(store: IdempotencyStore) -> None:
    """Keys claimed before fingerprints were kept still answer with their job."""
    assert store.claim("old", "job-a", 60) is None
    assert store.claim("old", "job-b", 60, "hash-b") == "job-a"


@pytest.mark.redis
def test_redis_keys_carry_the_prefix_and_the_retention_as_ttl(redis_settings: Settings) -> None:
    ctx = Context.from_settings(redis_settings)
    try:
        assert ctx.idempotency.claim("order-7", "job-a", 86400) is None
        assert ctx.redis is not None
        name = f"{redis_settings.redis_prefix}idempotency:order-7"
        assert ctx.redis.get(name) == b"job-a"
        assert 86_000_000 < ctx.redis.pttl(name) <= 86_400_000
    finally:
        ctx.close()


def test_keep_extends_only_the_holders_claim_and_takes_a_lapsed_one_again(store: IdempotencyStore) -> None:
    assert store.claim("k", "job-a", 0.3) is None
    store.keep("k", "job-b", 60)  # not the holder: the short claim still lapses
    time.sleep(0.5)
    assert store.claim("k", "job-b", 0.3) is None
    store.keep("k", "job-b", 60)
    time.sleep(0.5)
    assert store.claim("k", "job-c", 60) == "job-b"
    assert store.claim("late", "job-d", 0.2) is None
    time.sleep(0.4)  # the claim lapsed before its job was recorded (a slow request): keep takes it again
    store.keep("late", "job-d", 60)
    assert store.claim("late", "job-e", 60) == "job-d"


def test_an_unreachable_redis_store_raises_idempotency_unavailable(tmp_path: Path) -> None:
    ctx = Context.from_settings(make_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with pytest.raises(IdempotencyUnavailable, match="unreachable"):
            ctx.idempotency.claim("k", "job-a", 60)
        with pytest.raises(IdempotencyUnavailable, match="unreachable"):
            ctx.idempotency.keep("k", "job-a", 60)
        with pytest.raises(IdempotencyUnavailable, match="unreachable"):
            ctx.idempotency.release("k", "job-a")
    finally:
        ctx.close()
