"""What every process holds: the settings, the database, and the adapters adapters/build.py makes from them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pixmill.adapters.build import build_adapters, build_mailer
from pixmill.adapters.cache import Cache
from pixmill.adapters.events import JobEvents
from pixmill.adapters.idempotency import IdempotencyStore
from pixmill.adapters.mail import Mailer
from pixmill.adapters.storage import Storage
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
    mailer: Mailer | None = None  # SMTP when PIXMILL_SMTP_URL is set
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
        """A database engine for `settings` and the adapters adapters.build makes from them.

        relay: in a pool worker process, the API process's `events.worker_relay()` (embedded events go there).
        """
        engine = make_engine(settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        adapters = build_adapters(settings, sessions, relay)
        return cls(
            settings,
            engine,
            sessions,
            adapters.storage,
            idempotency=adapters.idempotency,
            events=adapters.events,
            cache=adapters.cache,
            redis=adapters.redis,
            mailer=build_mailer(settings),
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
