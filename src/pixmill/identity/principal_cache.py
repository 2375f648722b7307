"""A short in-process memory of the principals that credentials (API keys, bearer JWTs) stood for, so a busy client
costs one database read per credential every few seconds rather than one per request.

What it means for changes: a key revoked or a user changed through this process is forgotten at once; another API
process sees the change within PIXMILL_AUTH_CACHE_S (default 10 s). A cached credential never outlives its own
expiry. Only a digest of the credential is kept, never the credential."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from pixmill.identity.principal import Principal

_MAX = 10_000
_entries: OrderedDict[str, tuple[Principal, float, datetime | None]] = OrderedDict()
_lock = threading.Lock()


def _digest(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest()


def get(credential: str) -> Principal | None:
    """The principal remembered for `credential`, if still fresh and the credential not expired."""
    key = _digest(credential)
    with _lock:
        found = _entries.get(key)
        if found is None:
            return None
        principal, until, expires = found
        if time.monotonic() >= until or (expires is not None and expires <= datetime.now(UTC)):
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return principal


def remember(credential: str, principal: Principal, seconds: float, expires: datetime | None) -> None:
    """Keep `principal` for `credential` for `seconds` (0: not at all), never past `expires`."""
    if seconds <= 0:
        return
    with _lock:
        _entries[_digest(credential)] = (principal, time.monotonic() + seconds, expires)
        _entries.move_to_end(_digest(credential))
        while len(_entries) > _MAX:
            _entries.popitem(last=False)


def forget(*, user_id: str | None = None, key_id: str | None = None) -> None:
    """Drop what is remembered for a user (all their credentials) or for one API key."""
    with _lock:
        for key in [
            k
            for k, (p, _, _) in _entries.items()
            if (user_id is not None and p.user_id == user_id) or (key_id is not None and p.key_id == key_id)
        ]:
            del _entries[key]
