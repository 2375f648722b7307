"""Shared by the benchmarks: a realistic test photo, the raw-library reference and a live server."""

from __future__ import annotations

import asyncio
import io
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageFilter

SHARED = Path(__file__).resolve().parents[2] / "shared"


def make_photo(width: int = 4000, height: int = 3000, seed_image: int = 0, quality: int = 90) -> bytes:
    """A JPEG photo of the given size, made from a real test photo when ../shared is there."""
    sources = sorted((SHARED / "testsets" / "CBSD68").glob("*.png"))
    if sources:
        base = Image.open(sources[seed_image % len(sources)]).convert("RGB")
        base = base.resize((width, height), Image.Resampling.BICUBIC)
    else:
        base = Image.radial_gradient("L").resize((width, height)).convert("RGB")
    grain = Image.effect_noise((width, height), 12).convert("RGB")
    photo = Image.blend(base, grain, 0.08).filter(ImageFilter.SHARPEN)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def raw_reference(data: bytes) -> bytes:
    """The fastest few lines of Pillow: shrink on load to the fit size, Lanczos, JPEG q80 (EXIF-free input)."""
    im = Image.open(io.BytesIO(data))
    scale = min(800 / im.width, 800 / im.height, 1.0)
    size = (round(im.width * scale), round(im.height * scale))
    im.draft("RGB", size)
    out = io.BytesIO()
    im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0).save(out, "JPEG", quality=80)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_account(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The headers of a new account's API key, made in the database of a started server: the benches upload,
    submit and list jobs as it (a job list is the caller's own)."""
    from pixmill.config import Settings
    from pixmill.context import Context
    from pixmill.identity import service

    ctx = Context.from_settings(Settings(data_dir=data_dir, database_url=database_url))
    try:
        user = service.create_user(ctx, f"bench-{random.randrange(1 << 32):08x}@example.org", None)
        _, token = service.create_api_key(ctx, user.id, "bench", ["assets", "jobs", "render:sign"])
    finally:
        ctx.close()
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def live_data_dir() -> Iterator[Path]:
    """A fresh data directory for `live_server(PIXMILL_DATA_DIR=...)` when the bench needs to reach it."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@contextmanager
def live_server(**env: str) -> Iterator[str]:
    """`pixmill serve` on 127.0.0.1 with a fresh data dir; yields its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        # no quotas: a bench measures how fast pixmill goes, not where its limits stop a client
        full_env = {
            **os.environ,
            "PIXMILL_DATA_DIR": tmp,
            "PIXMILL_LOG_LEVEL": "WARNING",
            "PIXMILL_QUOTA_JOBS_PER_MINUTE": "0",
            "PIXMILL_QUOTA_STORAGE_BYTES": "0",
            **env,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "pixmill", "serve", "--port", str(port)],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/api/livez", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def reference_throughput(data: list[bytes], processes: int) -> float:
    """Images per second of raw_reference over `data` with `processes` processes."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(raw_reference, data[:processes]))  # warm up
        started = time.perf_counter()
        list(pool.map(raw_reference, data))
        return len(data) / (time.perf_counter() - started)


def median_ms(fn: object, data: bytes, repeat: int = 15) -> float:
    import statistics

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(data)  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


async def submission_latency(
    url: str, body: dict[str, Any], clients: int, seconds: float, rate: float | None
) -> tuple[list[float], int, float]:
    """POST round trips (s) of `clients` concurrent clients for `seconds`: paced to `rate` requests/s in all,
    or back to back when rate is None. Returns (latencies, errors, requests/s achieved)."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients + 5, max_keepalive_connections=clients + 5)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def post() -> float:
            nonlocal errors
            t0 = time.perf_counter()
            try:
                r = await http.post("/api/v1/jobs", json=body)
            except httpx.HTTPError:  # counted, not fatal: the figures say how many requests failed
                errors += 1
                return time.perf_counter() - t0
            elapsed = time.perf_counter() - t0
            if r.status_code != 202:
                errors += 1
            return elapsed

        await asyncio.gather(*(post() for _ in range(clients)))  # open the connections; not counted
        interval = clients / rate if rate else 0.0
        started = time.perf_counter()
        end = started + seconds

        async def client() -> None:
            next_at = time.perf_counter() + random.uniform(0, interval)
            while True:
                if interval:
                    await asyncio.sleep(max(0.0, min(next_at, end) - time.perf_counter()))
                    next_at += interval
                if time.perf_counter() >= end:
                    return
                latencies.append(await post())

        await asyncio.gather(*(client() for _ in range(clients)))
        took = time.perf_counter() - started
    return latencies, errors, len(latencies) / took
