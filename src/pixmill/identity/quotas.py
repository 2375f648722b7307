"""Quotas per principal: jobs per minute, and bytes kept stored. The settings give the defaults; an admin may set a
user's own (0: no limit). Signed-in users are counted from the database, so every API process sees the same count;
anonymous callers are counted per address, in each API process."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pixmill.context import Context
from pixmill.errors import PixmillError
from pixmill.identity import repository
from pixmill.identity.principal import Principal

WINDOW = timedelta(minutes=1)


class JobRateExceeded(PixmillError):
    """More jobs in the last minute than the principal's quota."""

    status, title = 429, "Too many jobs"

    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(f"the quota is {limit} jobs per minute: wait {retry_after} s before the next one")
        self.retry_after = retry_after


class StorageQuotaExceeded(PixmillError):
    """Storing this would take the user over their storage quota."""

    status, title = 413, "Storage quota exceeded"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return str(self)


def limits_of(ctx: Context, user_id: str) -> tuple[int, int]:
    """(jobs per minute, stored bytes) for the user: their own override, else the settings'."""
    with ctx.session() as s:
        user = repository.get_user(s, user_id)
    jobs = user.quota_jobs_per_minute if user and user.quota_jobs_per_minute is not None else None
    stored = user.quota_storage_bytes if user and user.quota_storage_bytes is not None else None
    return (
        ctx.settings.quota_jobs_per_minute if jobs is None else jobs,
        ctx.settings.quota_storage_bytes if stored is None else stored,
    )


class _AnonymousWindow:
    """Jobs per address in the last minute, in this process (bounded: the least recent addresses are dropped)."""

    def __init__(self, max_addresses: int = 10_000) -> None:
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_addresses

    def take(self, address: str, limit: int, now: float) -> int | None:
        """Count one job for `address`; None if allowed, else the seconds to wait."""
        with self._lock:
            times = self._seen.pop(address, deque())
            while times and now - times[0] >= WINDOW.total_seconds():
                times.popleft()
            self._seen[address] = times
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
            if len(times) >= limit:
                return max(1, math.ceil(WINDOW.total_seconds() - (now - times[0])))
            times.append(now)
            return None


_windows_lock = threading.Lock()


def _anonymous_window(ctx: Context) -> _AnonymousWindow:
    """This app's count of anonymous jobs (one per Context: each app in a process counts its own callers)."""
    with _windows_lock:
        window: _AnonymousWindow | None = getattr(ctx, "_anonymous_jobs", None)
        if window is None:
            window = _AnonymousWindow()
            ctx._anonymous_jobs = window  # type: ignore[attr-defined]
        return window


def check_job_rate(ctx: Context, principal: Principal, address: str | None, now: datetime | None = None) -> None:
    """Raise JobRateExceeded if the principal may not create another job now."""
    now = now or datetime.now(UTC)
    if principal.user_id is None:
        limit = ctx.settings.quota_jobs_per_minute
        if limit and (wait := _anonymous_window(ctx).take(address or "?", limit, time.monotonic())) is not None:
            raise JobRateExceeded(limit, wait)
        return
    limit, _ = limits_of(ctx, principal.user_id)
    if not limit:
        return
    with ctx.session() as s:
        count, oldest = repository.jobs_created_since(s, principal.user_id, now - WINDOW)
    if count >= limit:
        seconds = (oldest + WINDOW - now).total_seconds() if oldest else WINDOW.total_seconds()
        raise JobRateExceeded(limit, max(1, math.ceil(seconds)))


def check_storage(ctx: Context, principal: Principal, incoming: int) -> None:
    """Raise StorageQuotaExceeded if storing `incoming` more bytes would take the user over their quota."""
    if principal.user_id is None:
        return  # anonymous uploads are bounded by the upload limits and expire with the data
    _, limit = limits_of(ctx, principal.user_id)
    if not limit:
        return
    with ctx.session() as s:
        used = repository.stored_bytes(s, principal.user_id)
    if used + incoming > limit:
        raise StorageQuotaExceeded(
            f"the storage quota is {limit} bytes: {used} are stored and this needs {incoming} more; "
            "delete some data or ask an admin for more"
        )
