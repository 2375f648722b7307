"""End-to-end job throughput of the embedded server against the raw library, in one run.

A 12 MP JPEG photo → fit 800x800 → JPEG q80.
- reference: a few lines of Pillow with shrink-on-load (draft), 1 process and 2 processes;
- pixmill: `pixmill serve` on 127.0.0.1 with 2 workers; the asset is uploaded once, then N async jobs
  are submitted by 8 concurrent clients and polled until their results are stored and their URLs ready.

Usage: python bench/jobs.py [--jobs 60] [--testsets ../shared/testsets]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image, ImageFilter, ImageOps


def make_photo(testsets: Path) -> bytes:
    """A 4000x3000 JPEG q90 made from a real photo when the test sets are there (else a synthetic one)."""
    sources = sorted((testsets / "CBSD68").glob("*.png"))
    if sources:
        base = Image.open(sources[0]).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    else:
        base = Image.radial_gradient("L").resize((4000, 3000)).convert("RGB")
    grain = Image.effect_noise((4000, 3000), 12).convert("RGB")
    photo = Image.blend(base, grain, 0.08).filter(ImageFilter.SHARPEN)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def raw_reference(data: bytes) -> int:
    src = Image.open(io.BytesIO(data))
    src.draft("RGB", (800, 800))
    im = ImageOps.exif_transpose(src)
    im.thumbnail((800, 800), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return len(out.getvalue())


def reference_throughput(data: bytes, n: int, processes: int) -> float:
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(raw_reference, [data] * processes))  # warm up
        started = time.perf_counter()
        list(pool.map(raw_reference, [data] * n))
        return n / (time.perf_counter() - started)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pixmill_throughput(data: bytes, n: int, clients: int) -> tuple[float, list[float]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PIXMILL_DATA_DIR": tmp, "PIXMILL_WORKERS": "2", "PIXMILL_LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pixmill", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            with httpx.Client(base_url=url, timeout=60) as http:
                for _ in range(300):
                    try:
                        if http.get("/api/livez").status_code == 200:
                            break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                asset = http.post("/api/v1/uploads", files={"files": ("photo.jpg", data, "image/jpeg")}).json()
                body = {
                    "inputs": [asset["assets"][0]["id"]],
                    "pipeline": [
                        {"op": "resize", "params": {"width": 800, "height": 800}},
                        {"op": "convert", "params": {"format": "jpeg", "quality": 80}},
                    ],
                }

                def one_job(_: int) -> float:
                    t0 = time.perf_counter()
                    job = http.post("/api/v1/jobs", json=body).json()
                    while job["status"] in ("PENDING", "PROCESSING"):
                        time.sleep(0.01)
                        job = http.get(f"/api/v1/jobs/{job['id']}").json()
                    assert job["status"] == "COMPLETED" and job["outputs"][0]["url"], job
                    return time.perf_counter() - t0

                with ThreadPoolExecutor(clients) as pool:
                    list(pool.map(one_job, range(4)))  # warm the worker processes
                    started = time.perf_counter()
                    latencies = list(pool.map(one_job, range(n)))
                    elapsed = time.perf_counter() - started
                return n / elapsed, latencies
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--testsets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "testsets")
    args = parser.parse_args()

    data = make_photo(args.testsets)
    print(f"input: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; fit 800x800, JPEG q80; {os.cpu_count()} CPUs")
    single = []
    for _ in range(15):
        t0 = time.perf_counter()
        raw_reference(data)
        single.append(time.perf_counter() - t0)
    print(f"reference, 1 process : median {statistics.median(single) * 1000:.1f} ms/image")
    ref2 = reference_throughput(data, args.jobs, 2)
    print(f"reference, 2 processes: {ref2:.1f} images/s")
    for clients in (2, 8):
        rate, latencies = pixmill_throughput(data, args.jobs, clients)
        print(
            f"pixmill async jobs, {clients} clients: {rate:.1f} jobs/s "
            f"(median job latency {statistics.median(latencies) * 1000:.0f} ms) = {rate / ref2:.2f} x reference"
        )


if __name__ == "__main__":
    main()
