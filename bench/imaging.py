"""The render endpoint against the raw library, in one run: throughput, quality and memory.

A 12 MP JPEG photo → fit 800x800 → JPEG q80.
- reference: a few lines of Pillow with shrink on load (bench/common.py), 1 process and 2 processes;
- pixmill: GET /render/… on `pixmill serve` (127.0.0.1, 2 workers) with 2 and 8 concurrent clients;
  every request is a cache miss (each photo differs by a few bytes, so its content hash differs);
- quality: PSNR of pixmill's render against a full-resolution Lanczos reference;
- memory: peak RSS of a fresh process running the same pipeline on a 50 MP JPEG, next to the peak of
  the same process after imports only.

Usage: python bench/imaging.py [--requests 60]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from common import live_server, make_photo, median_ms, raw_reference, reference_throughput
from PIL import Image

from pixmill.render.service import sign_path

PATH = "resize:width=800,height=800/jpeg:quality=80"

MEMORY_PROBE = """
import sys
def hwm():  # VmHWM: this process's peak RSS in kB (ru_maxrss would include the parent's, from before exec)
    return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
from pixmill.imaging.catalogue import RunContext
from pixmill.imaging.limits import Limits
from pixmill.imaging.pipeline import parse_pipeline, run_pipeline
from pixmill.imaging.step_syntax import parse_step
data = open(sys.argv[1], "rb").read()
base = hwm()
p = parse_pipeline([parse_step(s) for s in sys.argv[2].split("/")])
run_pipeline(p, data, RunContext(limits=Limits(max_bytes=200_000_000)))
print(base, hwm())
"""


def variants(data: bytes, n: int) -> list[bytes]:
    """The same photo n times, each with a different JPEG comment: same work, different content hash."""
    return [data[:2] + b"\xff\xfe\x00\x08" + i.to_bytes(6, "big") + data[2:] for i in range(n)]


def psnr(a: Image.Image, b: Image.Image) -> float:
    x = np.asarray(a.convert("RGB"), dtype=np.float64)
    y = np.asarray(b.convert("RGB"), dtype=np.float64)
    mse = float(np.mean((x - y) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def render_throughput(photos: list[bytes], clients: int, secret: str) -> tuple[float, bytes]:
    with (
        live_server(PIXMILL_WORKERS="2", PIXMILL_SECRET_KEY=secret) as url,
        httpx.Client(base_url=url, timeout=120) as http,
    ):
        ids = []
        for i in range(0, len(photos), 10):
            files = [("files", (f"{j}.jpg", d, "image/jpeg")) for j, d in enumerate(photos[i : i + 10])]
            ids += [a["id"] for a in http.post("/api/v1/uploads", files=files).json()["assets"]]

        def get(asset_id: str) -> bytes:
            path = f"{PATH}/{asset_id}"
            r = http.get(f"/render/{sign_path(secret.encode(), path, None)}/{path}")
            assert r.status_code == 200 and r.headers["x-cache"] == "miss", r.text
            return r.content

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(get, ids[:4]))  # warm up the workers
            started = time.perf_counter()
            outputs = list(pool.map(get, ids[4:]))
            elapsed = time.perf_counter() - started
        return (len(ids) - 4) / elapsed, outputs[0]


def peak_memory(data: bytes) -> tuple[int, int]:
    path = "/tmp/pixmill-bench-50mp.jpg"
    with open(path, "wb") as fh:
        fh.write(data)
    out = subprocess.run([sys.executable, "-c", MEMORY_PROBE, path, PATH], capture_output=True, text=True, check=True)
    os.unlink(path)
    base, peak = (int(x) for x in out.stdout.split())
    return base // 1024, peak // 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()

    data = make_photo()
    photos = variants(data, args.requests + 4)
    print(f"input: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; fit 800x800, JPEG q80; {os.cpu_count()} CPUs")
    print(f"reference, 1 process : median {median_ms(raw_reference, data):.1f} ms/image")
    ref2 = reference_throughput(photos[: args.requests], 2)
    print(f"reference, 2 processes: {ref2:.1f} images/s")
    rendered = b""
    for clients in (2, 8):
        rate, rendered = render_throughput(photos, clients, "bench-secret")
        print(f"pixmill /render, {clients} clients: {rate:.1f} images/s = {rate / ref2:.2f} x reference")

    full = Image.open(io.BytesIO(data)).convert("RGB")
    out = Image.open(io.BytesIO(rendered))
    lanczos = full.resize(out.size, Image.Resampling.LANCZOS)
    print(f"quality: PSNR of pixmill's render vs full-resolution Lanczos = {psnr(out, lanczos):.2f} dB {out.size}")
    ref_out = Image.open(io.BytesIO(raw_reference(data)))
    print(f"         PSNR of the raw reference vs the same            = {psnr(ref_out, lanczos):.2f} dB")

    big = make_photo(8660, 5774)
    base, peak = peak_memory(big)
    print(
        f"memory: 50 MP JPEG ({len(big) / 1e6:.1f} MB) → {PATH}: peak RSS {peak} MB "
        f"(after imports {base} MB; pipeline adds {peak - base} MB)"
    )


if __name__ == "__main__":
    main()
