"""The accounts' expiry: browser sessions past their expiry go (their cookies open nothing already)."""

from __future__ import annotations

from datetime import datetime

from pixmill.accounts import repository
from pixmill.context import Context


def expire_sessions(ctx: Context, now: datetime) -> int:
    """Delete the browser sessions that expired before `now`; returns how many went."""
    with ctx.session() as s:
        removed = repository.delete_expired_sessions(s, now)
        s.commit()
    return removed
