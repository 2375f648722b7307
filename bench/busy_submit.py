"""Submit latency while the in-process pool saturates every core, with the workers' lower CPU priority and without.

Each round starts a fresh `pixmill serve` (embedded: SQLite, local files, one pool process per CPU), uploads a photo,
queues enough heavy jobs (the photo → AVIF) to keep every pool process busy for the whole round, waits until every
process is running one, then has 16 clients POST a tiny job (64x48 JPEG → 32 px WEBP) to /api/v1/jobs for a few
seconds, each at a steady pace (one request every clients/rate seconds; `--rate 0`: back to back, which measures the
API's saturation instead). The figure is the POST round trip, from sending the request to reading the 202. Rounds
alternate between the default PIXMILL_WORKER_NICE (or the values given with --nice) and PIXMILL_WORKER_NICE=0 (the
workers at the API's priority), the order flipping every round.

The goal is p99 < 100 ms with the default. This machine is shared and noisy: compare the two settings within a run,
and read the medians of the rounds rather than any one round.

Usage: python bench/busy_submit.py [--rounds 3] [--clients 16] [--rate 40] [--seconds 8] [--nice N ...] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import free_port, make_photo, submission_latency
from PIL import Image

from pixmill.config import Settings

HEAVY = [{"op": "convert", "params": {"format": "avif", "speed": 6, "quality": 80}}]
DEFAULT_NICE = int(Settings.model_fields["worker_nice"].default)
TINY = [{"op": "resize", "params": {"width": 32}}, {"op": "convert", "params": {"format": "webp"}}]


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (Linux)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return sum(values) - values[3] - values[4], sum(values)


def tiny_photo() -> bytes:
    buf = io.BytesIO()
    Image.radial_gradient("L").resize((64, 48)).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


class Server:
    """A fresh `pixmill serve` with its own data dir; stopped (and its dir removed) by close()."""

    def __init__(self, nice: int) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "PIXMILL_DATA_DIR": self.tmp.name,
            "PIXMILL_LOG_LEVEL": "WARNING",
            "PIXMILL_WORKER_NICE": str(nice),
            "PIXMILL_SHUTDOWN_GRACE_S": "0",
            "PIXMILL_QUOTA_JOBS_PER_MINUTE": "0",  # 40 submissions a second: far past a client's quota
        }
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pixmill", "serve", "--host", "127.0.0.1", "--port", port],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/api/livez", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("pixmill serve did not start")
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.tmp.cleanup()


def upload(http: httpx.Client, data: bytes, name: str) -> str:
    r = http.post("/api/v1/uploads", files={"files": (name, data, "image/jpeg")})
    r.raise_for_status()
    return str(r.json()["assets"][0]["id"])


def saturate(http: httpx.Client, asset: str, jobs: int, workers: int) -> list[str]:
    """Queue `jobs` heavy jobs and wait until every pool process runs one."""
    ids = [http.post("/api/v1/jobs", json={"inputs": [asset], "pipeline": HEAVY}).json()["id"] for _ in range(jobs)]
    deadline = time.monotonic() + 60
    while sum(http.get(f"/api/v1/jobs/{i}").json()["status"] == "PROCESSING" for i in ids[: workers * 2]) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError("the pool never got busy")
        time.sleep(0.1)
    return ids


def cuts(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[94] * 1000, q[98] * 1000


def one_round(nice: int, args: argparse.Namespace, photo: bytes, tiny: bytes) -> tuple[float, float, float]:
    server = Server(nice)
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            workers = os.cpu_count() or 1
            heavy = saturate(http, upload(http, photo, "photo.jpg"), args.heavy_per_worker * workers, workers)
            body = {"inputs": [upload(http, tiny, "tiny.jpg")], "pipeline": TINY}
            busy0, total0 = _cpu_times()
            found, errors, _ = asyncio.run(submission_latency(server.url, body, args.clients, args.seconds, args.rate))
            busy1, total1 = _cpu_times()
            left = sum(http.get(f"/api/v1/jobs/{i}").json()["status"] in ("PENDING", "PROCESSING") for i in heavy)
        p50, p95, p99 = cuts(found)
        print(
            f"  nice {nice:>2}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  ({len(found)} requests, "
            f"{errors} errors; CPUs {100 * (busy1 - busy0) / max(1, total1 - total0):.0f} % busy; "
            f"{left} of {len(heavy)} heavy jobs still queued or running at the end)",
            flush=True,
        )
        if left == 0:
            print("  warning: the pool ran dry before the round ended; raise --heavy-per-worker", flush=True)
        return p50, p95, p99
    finally:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="rounds per setting")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s of all clients together; 0: back to back")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per round")
    parser.add_argument("--heavy-per-worker", type=int, default=12, help="heavy jobs queued per pool process")
    parser.add_argument(
        "--nice",
        type=int,
        action="append",
        help=f"a PIXMILL_WORKER_NICE to compare with 0 (repeat for several; default {DEFAULT_NICE})",
    )
    parser.add_argument("--quick", action="store_true", help="1 round per setting, 4 s each")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 4.0
    photo, tiny = make_photo(2000, 1500), tiny_photo()
    one, five, fifteen = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f}; {args.clients} clients "
        f"{f'paced to {args.rate:g} requests/s' if args.rate else 'back to back'}, {args.seconds:g} s per round",
        flush=True,
    )
    settings = [*(args.nice or [DEFAULT_NICE]), 0]
    results: dict[int, list[tuple[float, float, float]]] = {nice: [] for nice in settings}
    for r in range(args.rounds):
        print(f"round {r + 1}", flush=True)
        for nice in settings if r % 2 == 0 else settings[::-1]:
            results[nice].append(one_round(nice, args, photo, tiny))
    print("median of the rounds:")
    off = statistics.median(r[2] for r in results[0])
    for nice in settings:
        p50, p95, p99 = (statistics.median(col) for col in zip(*results[nice], strict=True))
        label = f"workers at nice {nice}" + (" (default)" if nice == DEFAULT_NICE else "")
        ratio = "" if nice == 0 else f"  = {p99 / off:.2f} x the p99 at nice 0"
        print(f"  {label:<32} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms{ratio}")
    print("goal: p99 < 100 ms with the default")


if __name__ == "__main__":
    main()
