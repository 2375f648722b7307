"""The distributed idempotency store: keys in Redis, claimed with `SET NX PX`, shared by every API instance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pixmill.adapters.idempotency import CLAIM_TRIES, IdempotencyUnavailable, check_holder

if TYPE_CHECKING:
    import redis


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


def _unavailable(exc: Exception) -> IdempotencyUnavailable:
    return IdempotencyUnavailable(f"the idempotency store (Redis) is unreachable: {type(exc).__name__}")


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
            for _ in range(CLAIM_TRIES):
                if self.client.set(name, _value(job_id, fingerprint), nx=True, px=max(1, round(ttl_s * 1000))):
                    return None
                holder = self.client.get(name)
                if holder is not None:  # else it expired or was released since the SET: try again
                    text = holder.decode() if isinstance(holder, bytes) else str(holder)
                    holder_job, _, holder_fingerprint = text.partition(" ")
                    return check_holder(key, fingerprint, holder_job, holder_fingerprint or None)
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
        raise IdempotencyUnavailable(f"the idempotency key {key!r} changes hands too fast to be claimed")

    def release(self, key: str, job_id: str) -> None:
        import redis

        try:
            self._release(keys=[self.prefix + key], args=[job_id])
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc

    def keep(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> None:
        import redis

        try:
            self._keep(
                keys=[self.prefix + key], args=[job_id, max(1, round(ttl_s * 1000)), _value(job_id, fingerprint)]
            )
        except redis.RedisError as exc:
            raise _unavailable(exc) from exc
