"""The embedded idempotency store: keys as rows of the database table `idempotency_keys`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pixmill.adapters.idempotency import CLAIM_TRIES, IdempotencyKeyReused, IdempotencyUnavailable, check_holder
from pixmill.db.models import IdempotencyKey

log = logging.getLogger("pixmill.jobs")


class DatabaseIdempotency:
    """Keys as rows of `idempotency_keys`; an expired row is replaced on the next claim (and swept by expiry)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def claim(self, key: str, job_id: str, ttl_s: float, fingerprint: str | None = None) -> str | None:
        for _ in range(CLAIM_TRIES):
            now = datetime.now(UTC)
            with self.sessions() as s:
                row = s.get(IdempotencyKey, key)
                if row is not None:
                    if row.expires_at > now:
                        return check_holder(key, fingerprint, row.job_id, row.request_hash)
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
