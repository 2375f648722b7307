"""The idempotency port: an Idempotency-Key is claimed for a job before anything of its request is stored.

A claim carries the request's fingerprint (a hash of what it asks for): the same key sent with a different request
is refused (IdempotencyKeyReused), not answered with the first request's job. Claims made before fingerprints were
kept (or made without one) match any request.

Adapters: the database table `idempotency_keys` (embedded; its primary key makes concurrent claims safe across
threads and processes) and Redis (`SET NX` with the retention as expiry, shared by every API instance).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pixmill.db.models import IdempotencyKey
from pixmill.errors import PixmillError

if TYPE_CHECKING:
    import redis

log = logging.getLogger("pixmill.jobs")

_CLAIM_TRIES = 10  # each lost try means the key was released or expired in between: rare, bounded anyway


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


def fingerprint(*parts: Any) -> str:
    """SHA-256 (hex) of `parts` as canonical JSON: equal for requests that ask for the same thing, however their
    JSON was spelled (key order, spaces)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def file_digest(fh: BinaryIO) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks; the file is left at its start."""
    fh.seek(0)
    digest = hashlib.file_digest(fh, "sha256").hexdigest()  # type: ignore[arg-type]
    fh.seek(0)
    return digest


def _check(key: str, fingerprint: str | None, holder_job: str, holder_fingerprint: str | None) -> str:
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


class DatabaseIdempotency:
    """Keys as rows of `idempotency_keys`; an expired row is replaced on the next claim (and swept by expiry)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def claim(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> str | None:
        for _ in range(_CLAIM_TRIES):
            now = datetime.now(UTC)
            with self.sessions() as s:
                row = s.get(IdempotencyKey, key)
                if row is not None:
                    if row.expires_at > now:
                        return _check(key, fingerprint, row.job_id, row.request_hash)
                    s.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.expires_at <= now))
                expires = now + timedelta(seconds=ttl_s)
                s.add(
                    IdempotencyKey(key=key, job_id=job_id, request_hash=fingerprint, created_at=now, expires_at=expires)
                )
                try:
                    s.commit()
                except IntegrityError:  # another request claimed it since we looked: read whose it is
                    s.rollback()
                    continue
                return None
        raise IdempotencyUnavailable(f"the idempotency key {key!r} changes hands too fast to be claimed")

    def release(self, key: str, job_id: str) -> None:
        with self.sessions() as s:
            s.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.job_id == job_id))
            s.commit()

    def keep(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> None:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl_s)
        with self.sessions() as s:
            kept = s.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == key, IdempotencyKey.job_id == job_id)
                .values(expires_at=expires)
            )
            s.commit()
            if kept.rowcount:  # type: ignore[attr-defined]
                return
        try:
            holder = self.claim(key, job_id, ttl_s, fingerprint)
        except IdempotencyKeyReused:
            holder = "another request"
        if holder is not None:
            log.warning("idempotency key lapsed and was claimed by another request", extra={"job": job_id})


# A key's value is "<job id>" or "<job id> <fingerprint>"; the scripts compare the job id alone.
_HOLDS = """
local function holds(value, job)
  return value == job or string.sub(value, 1, #job + 1) == job .. ' '
end
"""

# Delete the key only while it still names this job: a later claimant's key is never released by mistake.
_RELEASE = (
    _HOLDS
    + """
local holder = redis.call('GET', KEYS[1])
if holder and holds(holder, ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
)

# Extend the key while it names this job; take it again (ARGV[3], the full value) if it lapsed and nobody else took it.
_KEEP = (
    _HOLDS
    + """
local holder = redis.call('GET', KEYS[1])
if holder and holds(holder, ARGV[1]) then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  if redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[2], 'NX') then return 1 end
end
return 0
"""
)


def _value(job_id: str, fingerprint: str | None) -> str:
    return f"{job_id} {fingerprint}" if fingerprint else job_id


class RedisIdempotency:
    """Keys as `<prefix>idempotency:<key>` → "<job id> <fingerprint>", claimed with `SET NX PX` (the TTL is the
    retention)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}idempotency:"
        self._release = client.register_script(_RELEASE)
        self._keep = client.register_script(_KEEP)

    def claim(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> str | None:
        import redis

        name = self.prefix + key
        try:
            for _ in range(_CLAIM_TRIES):
                if self.client.set(name, _value(job_id, fingerprint), nx=True, px=max(1, round(ttl_s * 1000))):
                    return None
                holder = self.client.get(name)
                if holder is not None:  # else it expired or was released since the SET: try again
                    text = holder.decode() if isinstance(holder, bytes) else str(holder)
                    holder_job, _, holder_fingerprint = text.partition(" ")
                    return _check(key, fingerprint, holder_job, holder_fingerprint or None)
        except redis.RedisError as exc:
            raise IdempotencyUnavailable(f"the idempotency store (Redis) is unreachable: {type(exc).__name__}") from exc
        raise IdempotencyUnavailable(f"the idempotency key {key!r} changes hands too fast to be claimed")

    def release(self, key: str, job_id: str) -> None:
        self._release(keys=[self.prefix + key], args=[job_id])

    def keep(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> None:
        self._keep(keys=[self.prefix + key], args=[job_id, max(1, round(ttl_s * 1000)), _value(job_id, fingerprint)])
