"""The idempotency port: an Idempotency-Key is claimed for a job before anything of its request is stored.

A claim carries the request's fingerprint (a hash of what it asks for, made by jobs.fingerprints): the same key sent
with a different request is refused (IdempotencyKeyReused), not answered with the first request's job. Claims made
before fingerprints were kept (or made without one) match any request.

Adapters: the database table `idempotency_keys` (embedded, database.py; its primary key makes concurrent claims safe
across threads and processes) and Redis (redis.py: `SET NX` with the retention as expiry, shared by every API
instance).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from pixmill.errors import PixmillError

CLAIM_TRIES = 10  # each lost try means the key was released or expired in between: rare, bounded anyway


class IdempotencyUnavailable(PixmillError, RuntimeError):
    """The idempotency store cannot be reached; the API answers 503 and stores nothing."""

    status, title, retry_after = 503, "Idempotency store unavailable", 5

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"{self}; nothing was stored, try again"


class IdempotencyKeyReused(PixmillError, ValueError):
    """The Idempotency-Key is held by a request that asked for something else (a different fingerprint)."""

    status, title = 422, "Idempotency-Key reused"

    def __init__(self, key: str, job_id: str) -> None:
        super().__init__(key, job_id)
        self.key, self.job_id = key, job_id

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        job = show_job(self.job_id)
        return (
            f"the Idempotency-Key {self.key!r} was already used with a different request (job {job}); "
            "send a new key for a new request"
        )


def check_holder(key: str, fingerprint: str | None, holder_job: str, holder_fingerprint: str | None) -> str:
    """The holder's job id; IdempotencyKeyReused when the holder asked with another fingerprint than `fingerprint`."""
    if fingerprint and holder_fingerprint and fingerprint != holder_fingerprint:
        raise IdempotencyKeyReused(key, holder_job)
    return holder_job


class IdempotencyStore(Protocol):
    def claim(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> str | None:
        """Claim `key` for `job_id` (a request with `fingerprint`) for `ttl_s` seconds: None when claimed, else
        the job id that holds it; IdempotencyKeyReused when its holder's request had another fingerprint."""

    def release(self, key: str, job_id: str) -> None:
        """Free `key` if it still names `job_id` (its job was not recorded, or could not be queued)."""

    def keep(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> None:
        """Hold `key` for `job_id` for `ttl_s` seconds from now (its job is recorded: keep it for the retention).

        A claim that lapsed meanwhile (recording took longer than the claim) is taken again if still free."""
