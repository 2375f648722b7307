"""The storage port: put, get and delete objects by key; hand out signed, expiring download URLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import BinaryIO, Protocol

from pixmill.errors import PixmillError


class ObjectNotFound(Exception):
    """No object is stored under that key."""


class StorageUnavailable(PixmillError):
    """The object store could not be reached or answered a server error (5xx): a passing outage, worth a retry."""

    # An object store restart takes seconds; clients should not hammer it meanwhile.
    status, title, retry_after = 503, "Storage unavailable", 10
    log_message = "object store unreachable"

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"{self}; nothing was stored, try again later"


class InvalidKey(ValueError):
    """The key is not a safe storage key."""


class Storage(Protocol):
    def put(self, key: str, data: bytes, media_type: str) -> None: ...
    def put_file(self, key: str, fh: BinaryIO, media_type: str) -> None:
        """Store a seekable file from its start, streamed in chunks (never read whole into memory)."""
        ...

    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def delete_older_than(self, prefix: str, cutoff: datetime) -> int: ...
    def signed_url(self, key: str, expires_at: datetime, base_url: str, filename: str | None = None) -> str: ...
    def check(self) -> None: ...
