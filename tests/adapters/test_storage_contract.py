"""The storage port's contract: every adapter (local disk, S3 on a real SeaweedFS) stores, reads, lists by prefix and
forgets objects alike. Adapter-specific behaviour (presigned URLs, lifecycle rules, outages) is in tests/storage/."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pixmill.adapters.storage import InvalidKey, ObjectNotFound, Storage
from pixmill.adapters.storage.keys import Retention
from pixmill.adapters.storage.local import LocalStorage
from pixmill.adapters.storage.s3 import S3Storage
from tests.seaweed import SeaweedS3


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """A fresh, empty store: files under a temporary root, or a new bucket on the session's SeaweedFS."""
    if request.param == "local":
        yield LocalStorage(tmp_path / "files", b"contract-secret")
        return
    seaweed: SeaweedS3 = request.getfixturevalue("seaweed")
    s3 = seaweed.storage(request.getfixturevalue("bucket"), retention=Retention(hours=30, order_days=90))
    s3.ensure_bucket()
    yield s3


def test_put_get_exists_and_delete_prefix(store: Storage) -> None:
    store.put("results/job1/0/1.png", b"one", "image/png")
    store.put("results/job1/1/1.png", b"two", "image/png")
    store.put("results/job10/0/1.png", b"sibling", "image/png")
    store.put("archives/job1.zip", b"zip", "application/zip")
    assert store.get("results/job1/0/1.png") == b"one"
    assert store.exists("results/job1/1/1.png")

    assert store.delete_prefix("results/job1") == 2
    assert not store.exists("results/job1/0/1.png") and not store.exists("results/job1/1/1.png")
    assert store.get("results/job10/0/1.png") == b"sibling"  # a prefix is a directory, not a string prefix
    assert store.delete_prefix("archives/job1.zip") == 1  # or one object
    assert not store.exists("archives/job1.zip")
    assert store.delete_prefix("results/nothing-here") == 0


def test_put_overwrites(store: Storage) -> None:
    store.put("results/j/0/1.png", b"first", "image/png")
    store.put("results/j/0/1.png", b"second", "image/png")
    assert store.get("results/j/0/1.png") == b"second"


def test_put_file_stores_a_file_from_its_start(store: Storage) -> None:
    fh = io.BytesIO(b"the whole file")
    fh.seek(4)  # wherever the caller left it
    store.put_file("uploads/f", fh, "application/octet-stream")
    assert store.get("uploads/f") == b"the whole file"


def test_delete_older_than_uses_the_write_time(store: Storage) -> None:
    store.put("render-cache/old", b"x", "image/png")
    time.sleep(1.1)  # S3 times have one-second resolution
    cutoff = datetime.now(UTC)
    time.sleep(1.1)
    store.put("render-cache/new", b"y", "image/png")
    assert store.delete_older_than("render-cache", cutoff) == 1
    assert not store.exists("render-cache/old") and store.exists("render-cache/new")
    assert store.delete_older_than("render-cache/none-here", cutoff) == 0


def test_missing_objects(store: Storage) -> None:
    with pytest.raises(ObjectNotFound):
        store.get("uploads/missing")
    assert not store.exists("uploads/missing")


def test_keys_are_checked(store: Storage) -> None:
    for key in ("../escape", "uploads/../x", "/abs", ""):
        with pytest.raises(InvalidKey):
            store.put(key, b"x", "text/plain")
        with pytest.raises(ValueError):  # InvalidKey is a ValueError
            store.get(key)


def test_a_signed_url_names_the_key(store: Storage) -> None:
    url = store.signed_url("results/j/0/1.png", datetime.now(UTC) + timedelta(hours=1), "http://api", "out.png")
    assert "results/j/0/1.png" in url
    kind = S3Storage if "X-Amz-Signature=" in url else LocalStorage
    assert isinstance(store, kind)


def test_check_passes_on_a_working_store(store: Storage) -> None:
    store.check()
    assert not store.exists("health/probe")  # the probe leaves nothing behind
