"""Comparing a secret or a signature with what a client sent, in constant time, whatever text it sent."""

from __future__ import annotations

import hashlib
import hmac


def _digest(value: str | bytes) -> bytes:
    # A client's text may be anything (non-ASCII, lone surrogates): it is compared as bytes, never refused.
    data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).digest()


def tokens_equal(expected: str | bytes, given: str | bytes) -> bool:
    """Whether `given` equals `expected`, compared as SHA-256 digests: bytes of one fixed length, so neither
    the content nor the length of the expected value shows in the time taken."""
    return hmac.compare_digest(_digest(expected), _digest(given))
