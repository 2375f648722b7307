"""HMAC-SHA256 signatures for download URLs: the key, the expiry and the download name are signed."""

from __future__ import annotations

import hashlib
import hmac
import time

from pixmill.tokens import tokens_equal


def sign(secret: bytes, key: str, expires: int, filename: str | None) -> str:
    message = f"{key}\n{expires}\n{filename or ''}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify(secret: bytes, key: str, expires: int, filename: str | None, signature: str) -> bool:
    """True when the signature matches and the expiry is in the future."""
    if expires < time.time():
        return False
    return tokens_equal(sign(secret, key, expires, filename), signature)
