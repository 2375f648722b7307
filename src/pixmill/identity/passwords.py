"""Password hashes: argon2id through argon2-cffi, with its default (RFC 9106 low-memory) parameters."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4

MIN_LENGTH = 10
MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (then it is replaced at the next login)."""
    return _hasher.check_needs_rehash(stored)


# A hash of nothing anyone knows, checked when the account does not exist, so a login for an unknown address
# takes as long as one with a wrong password (no account enumeration by timing).
DUMMY_HASH = _hasher.hash("pixmill: no such account")
