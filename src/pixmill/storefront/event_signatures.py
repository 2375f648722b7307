"""Storefront event signatures: `X-Pixmill-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>`."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from pixmill.tokens import tokens_equal

SIGNATURE_HEADER = "X-Pixmill-Signature"
# A unix time in seconds: ASCII digits, at most 12 of them (year 33658), so it is always a small integer.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def sign(secret: bytes, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={hmac.new(secret, f'{t}.'.encode() + body, hashlib.sha256).hexdigest()}"


def verify(secret: bytes, body: bytes, header: str | None, tolerance_s: int) -> str | None:
    """None when the signature is good and fresh; otherwise why not."""
    if not header:
        return f"the {SIGNATURE_HEADER} header is missing"
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    raw_t = parts.get("t", "").strip()
    if not _TIMESTAMP.fullmatch(raw_t):
        return "the signature has no valid timestamp (t=<unix time in seconds>)"
    t = int(raw_t)
    if abs(time.time() - t) > tolerance_s:
        return f"the signature timestamp is more than {tolerance_s}s away from now"
    expected = hmac.new(secret, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not tokens_equal(expected, parts.get("v1", "").strip()):
        return "the signature does not match the body"
    return None
