"""The idempotency port: an Idempotency-Key is claimed for a job before anything of its request is stored.

Adapters: the database table `idempotency_keys` (embedded; its primary key makes concurrent claims safe across
threads and processes) and Redis (`SET NX` with the retention as expiry, shared by every API instance).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pixmill.db.models import IdempotencyKey

if TYPE_CHECKING:
    import redis

log = logging.getLogger("pixmill.jobs")

_CLAIM_TRIES = 10  # each lost try means the key was released or expired in between: rare, bounded anyway


class IdempotencyUnavailable(RuntimeError):
    """The idempotency store cannot be reached; the API answers 503 and stores nothing."""


class IdempotencyStore(Protocol):
    def claim(self, key: str, job_id: str, ttl_s: float) -> str | None:
        """Claim `key` for `job_id` for `ttl_s` seconds: None when claimed, else the job id that holds it."""

    def release(self, key: str, job_id: str) -> None:
        """Free `key` if it still names `job_id` (its job was not recorded, or could not be queued)."""

    def keep(self, key: str, job_id: str, ttl_s: float) -> None:
        """Hold `key` for `job_id` for `ttl_s` seconds from now (its job is recorded: keep it for the retention).

        A claim that lapsed meanwhile (recording took longer than the claim) is taken again if still free."""


class DatabaseIdempotency:
    """Keys as rows of `idempotency_keys`; an expired row is replaced on the next claim (and swept by expiry)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def claim(self, key: str, job_id: str, ttl_s: float) -> str | None:
        for _ in range(_CLAIM_TRIES):
            now = datetime.now(UTC)
            with self.sessions() as s:
                row = s.get(IdempotencyKey, key)
                if row is not None:
                    if row.expires_at > now:
                        return row.job_id
                    s.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key, IdempotencyKey.expires_at <= now))
                s.add(IdempotencyKey(key=key, job_id=job_id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)))
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

    def keep(self, key: str, job_id: str, ttl_s: float) -> None:
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
        if self.claim(key, job_id, ttl_s) is not None:
            log.warning("idempotency key lapsed and was claimed by another request", extra={"job": job_id})


# Delete the key only while it still names this job: a later claimant's key is never released by mistake.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Extend the key while it names this job; take it again if it lapsed and nobody else took it.
_KEEP = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
end
return 0
"""


class RedisIdempotency:
    """Keys as `<prefix>idempotency:<key>` → job id, claimed with `SET NX PX` (the TTL is the retention)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = f"{prefix}idempotency:"
        self._release = client.register_script(_RELEASE)
        self._keep = client.register_script(_KEEP)

    def claim(self, key: str, job_id: str, ttl_s: float) -> str | None:
        import redis

        name = self.prefix + key
        try:
            for _ in range(_CLAIM_TRIES):
                if self.client.set(name, job_id, nx=True, px=max(1, round(ttl_s * 1000))):
                    return None
                holder = self.client.get(name)
                if holder is not None:  # else it expired or was released since the SET: try again
                    return holder.decode() if isinstance(holder, bytes) else str(holder)
        except redis.RedisError as exc:
            raise IdempotencyUnavailable(f"the idempotency store (Redis) is unreachable: {type(exc).__name__}") from exc
        raise IdempotencyUnavailable(f"the idempotency key {key!r} changes hands too fast to be claimed")

    def release(self, key: str, job_id: str) -> None:
        self._release(keys=[self.prefix + key], args=[job_id])

    def keep(self, key: str, job_id: str, ttl_s: float) -> None:
        self._keep(keys=[self.prefix + key], args=[job_id, max(1, round(ttl_s * 1000))])
