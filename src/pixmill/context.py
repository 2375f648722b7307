"""The wiring: one place that turns Settings into the adapters every process needs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pixmill.adapters.cache import Cache
from pixmill.adapters.cache.memory import MemoryCache
from pixmill.adapters.events import JobEvents
from pixmill.adapters.events.local import LocalEvents
from pixmill.adapters.idempotency import IdempotencyStore
from pixmill.adapters.idempotency.database import DatabaseIdempotency
from pixmill.adapters.storage import Storage, build_storage
from pixmill.config import Settings
from pixmill.db.session import make_engine, make_sessionmaker
from pixmill.webhooks.service import WebhookCircuits

if TYPE_CHECKING:
    from redis import Redis


@dataclass
class Context:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    idempotency: IdempotencyStore
    events: JobEvents
    cache: Cache
    redis: Redis | None = None  # the client the Redis adapters share, when settings.redis_url is set
    webhook_circuits: WebhookCircuits = field(init=False)

    def __post_init__(self) -> None:
        # in Redis, the circuits are shared by every process; else by the threads of this one (embedded mode
        # delivers from the API process only)
        self.webhook_circuits = WebhookCircuits(
            self.settings.webhook_circuit_failures,
            self.settings.webhook_circuit_reset_s,
            self.redis,
            self.settings.redis_prefix,
        )

    @classmethod
    def from_settings(cls, settings: Settings, relay: Any = None) -> Context:
        """The adapters `settings` choose: Redis ones when redis_url is set, else the embedded ones.

        relay: in a pool worker process, the API process's `events.worker_relay()` (embedded events go there).
        """
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        storage = build_storage(settings)
        if settings.redis_url:
            # imported here: redis-py comes with the redis extra only
            from pixmill.adapters.cache.redis import RedisCache
            from pixmill.adapters.events.redis import RedisEvents
            from pixmill.adapters.idempotency.redis import RedisIdempotency
            from pixmill.adapters.redis_client import connect

            client = connect(settings.redis_url)
            prefix = settings.redis_prefix
            return cls(
                settings,
                engine,
                sessions,
                storage,
                idempotency=RedisIdempotency(client, prefix),
                events=RedisEvents(client, settings.redis_url, prefix),
                cache=RedisCache(client, prefix),
                redis=client,
            )
        return cls(
            settings,
            engine,
            sessions,
            storage,
            idempotency=DatabaseIdempotency(sessions),
            events=LocalEvents(forward=relay),
            cache=MemoryCache(),
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def close(self) -> None:
        self.events.close()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.close()
        self.engine.dispose()
