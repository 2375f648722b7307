"""Local-disk storage: files under one root, served by the API behind HMAC-signed URLs."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from pixmill.adapters.storage import InvalidKey, ObjectNotFound
from pixmill.adapters.storage.keys import HEALTH, check_key, health_probe_key
from pixmill.adapters.storage.signing import sign, verify

_CHUNK = 1024 * 1024


class LocalStorage:
    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root.resolve()
        self.secret = secret
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        """The file for `key`; raises InvalidKey if it would fall outside the root."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidKey("key escapes the storage root")
        return path

    def put(self, key: str, data: bytes, media_type: str) -> None:
        self.put_file(key, io.BytesIO(data), media_type)

    def put_file(self, key: str, fh: BinaryIO, media_type: str) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                fh.seek(0)
                shutil.copyfileobj(fh, out, _CHUNK)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete_prefix(self, prefix: str) -> int:
        path = self.path_for(prefix.rstrip("/"))
        if path.is_dir():
            count = sum(1 for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path, ignore_errors=True)
            return count
        if path.is_file():
            path.unlink(missing_ok=True)
            return 1
        return 0

    def delete_older_than(self, prefix: str, cutoff: datetime) -> int:
        """Delete the files under `prefix` last written before `cutoff`."""
        root = self.path_for(prefix.rstrip("/"))
        if not root.is_dir():
            return 0
        removed = 0
        limit = cutoff.timestamp()
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def signed_url(self, key: str, expires_at: datetime, base_url: str, filename: str | None = None) -> str:
        expires = int(expires_at.timestamp())
        query = {"expires": str(expires), "signature": sign(self.secret, check_key(key), expires, filename)}
        if filename:
            query["filename"] = filename
        return f"{base_url.rstrip('/')}/files/{quote(key)}?{urlencode(query)}"

    def verify(self, key: str, expires: int, filename: str | None, signature: str) -> bool:
        return verify(self.secret, key, expires, filename, signature)

    def check(self) -> None:
        probe = health_probe_key()
        self.put(probe, b"ok", "text/plain")
        if self.get(probe) != b"ok":
            raise OSError("storage read back different bytes")
        self.delete_prefix(HEALTH.name)
