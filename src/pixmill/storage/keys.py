"""Storage keys: built by pixmill from ids, checked so that none can escape the storage root."""

from __future__ import annotations

import re

from pixmill.storage import InvalidKey

_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


def check_key(key: str) -> str:
    """Return `key` if it is a relative path of safe segments (no '..', no absolute path)."""
    if not key or len(key) > 512:
        raise InvalidKey("empty or overlong key")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment) or segment in (".", "..") or ".." in segment:
            raise InvalidKey(f"unsafe key segment {segment!r}")
    return key


def upload_key(asset_id: str) -> str:
    return check_key(f"uploads/{asset_id}")


def result_key(job_id: str, input_index: int, node_index: int, extension: str, part: int = 0) -> str:
    name = f"{node_index}-{part}" if part else f"{node_index}"
    return check_key(f"results/{job_id}/{input_index}/{name}.{extension}")


def archive_key(job_id: str) -> str:
    return check_key(f"archives/{job_id}.zip")
