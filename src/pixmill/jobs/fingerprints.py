"""What makes two job requests the same: fingerprints kept with their Idempotency-Key.

Pure hashing, the domain's own rule; the idempotency port only stores and compares the strings.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, BinaryIO


def fingerprint(*parts: Any) -> str:
    """SHA-256 (hex) of `parts` as canonical JSON: equal for requests that ask for the same thing, however their
    JSON was spelled (key order, spaces)."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def file_digest(fh: BinaryIO) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks; the file is left at its start."""
    fh.seek(0)
    digest = hashlib.file_digest(fh, "sha256").hexdigest()  # type: ignore[arg-type]
    fh.seek(0)
    return digest
