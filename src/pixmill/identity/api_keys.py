"""API key material: `pmk_<prefix>_<secret>`. The prefix finds the key's row; only the secret's SHA-256 is
stored (a key is 32 random bytes, so a fast hash is enough: there is nothing to guess)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "pmk"
_KEY = re.compile(r"^pmk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewKey:
    prefix: str  # shown in lists, to tell keys apart
    secret: str
    hash: str  # what is stored

    @property
    def token(self) -> str:
        """The key as the client sends it; shown once, at creation."""
        return f"{KEY_PREFIX}_{self.prefix}_{self.secret}"


def new_key() -> NewKey:
    prefix = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return NewKey(prefix, secret, hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(prefix, secret) of a well-formed key, or None (then it is not one of ours)."""
    m = _KEY.match(token.strip())
    return (m.group(1), m.group(2)) if m else None
