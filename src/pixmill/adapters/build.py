"""The one place that builds every adapter from Settings: Redis-backed ones when redis_url is set, else embedded.

Adding a backend to a port means one adapter module beside the port's others and one branch here. The runner is
built by worker/runner.py's `build_runner`: it runs the domains' registered tasks, so it sits above them, while these
adapters sit below every domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from pixmill.adapters.cache import Cache
from pixmill.adapters.events import JobEvents
from pixmill.adapters.idempotency import IdempotencyStore
from pixmill.adapters.mail import Mailer
from pixmill.adapters.storage import Storage
from pixmill.config import Settings

if TYPE_CHECKING:
    from redis import Redis


@dataclass
class Adapters:
    storage: Storage
    idempotency: IdempotencyStore
    events: JobEvents
    cache: Cache
    redis: Redis | None = None  # the client the Redis adapters share, when settings.redis_url is set


def build_storage(settings: Settings) -> Storage:
    """The storage adapter the settings choose; an S3 bucket is created (with its expiry rules) if missing."""
    if settings.storage == "s3":
        from pixmill.adapters.storage.s3 import S3Storage  # imported here: boto3 comes with the s3 extra only

        s3 = S3Storage.from_settings(settings)
        s3.ensure_bucket()
        return s3

    from pixmill.adapters.storage.local import LocalStorage

    return LocalStorage(settings.resolved_storage_dir, settings.signing_key)


def build_mailer(settings: Settings) -> Mailer | None:
    """The SMTP mailer when PIXMILL_SMTP_URL is set, else None (password reset by e-mail is then off)."""
    if not settings.smtp_url:
        return None
    from pixmill.adapters.mail.smtp import SmtpMailer

    return SmtpMailer(settings.smtp_url, settings.mail_from)


def build_adapters(settings: Settings, sessions: sessionmaker[Session], relay: Any = None) -> Adapters:
    """Every adapter `settings` choose.

    sessions: the database the embedded idempotency store keeps its keys in.
    relay: in a pool worker process, the API process's `events.worker_relay()` (embedded events go there).
    """
    storage = build_storage(settings)
    if settings.redis_url:
        # imported here: redis-py comes with the redis extra only
        from pixmill.adapters.cache.redis import RedisCache
        from pixmill.adapters.events.redis import RedisEvents
        from pixmill.adapters.idempotency.redis import RedisIdempotency
        from pixmill.adapters.redis_client import connect

        client = connect(settings.redis_url)
        prefix = settings.redis_prefix
        return Adapters(
            storage,
            idempotency=RedisIdempotency(client, prefix),
            events=RedisEvents(client, settings.redis_url, prefix),
            cache=RedisCache(client, prefix),
            redis=client,
        )

    from pixmill.adapters.cache.memory import MemoryCache
    from pixmill.adapters.events.local import LocalEvents
    from pixmill.adapters.idempotency.database import DatabaseIdempotency

    return Adapters(
        storage, idempotency=DatabaseIdempotency(sessions), events=LocalEvents(forward=relay), cache=MemoryCache()
    )
