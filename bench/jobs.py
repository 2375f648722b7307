"""End-to-end async job throughput of the embedded server against the raw library, in one run.

A 12 MP JPEG photo → fit 800x800 → JPEG q80. Reference: a few lines of Pillow with shrink on load,
in 1 and 2 processes. pixmill: `pixmill serve` on 127.0.0.1 with 2 workers; the asset is uploaded once,
then N jobs are submitted by 2 and by 8 concurrent clients, and the clock stops when every result is
stored and its URL ready (median latency: created → finished, from the job records).

Usage: python bench/jobs.py [--jobs 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
from common import bench_account, live_data_dir, live_server, make_photo, median_ms, raw_reference, reference_throughput


def pixmill_throughput(data: bytes, n: int, clients: int) -> tuple[float, list[float]]:
    """Jobs/s from the first submission until every job is COMPLETED with its URL ready.

    `clients` threads submit; one poller reads the job list twice a second (clients polling each job in
    a tight loop would measure the poll storm, not the service); the clock stops at the last job's
    finished_at, the server's record of when its result was stored.
    """
    with (
        live_data_dir() as data_dir,
        live_server(PIXMILL_WORKERS="2", PIXMILL_DATA_DIR=str(data_dir)) as url,
        httpx.Client(base_url=url, timeout=60, headers=bench_account(data_dir)) as http,
    ):
        asset = http.post("/api/v1/uploads", files={"files": ("photo.jpg", data, "image/jpeg")}).json()
        body = {
            "inputs": [asset["assets"][0]["id"]],
            "pipeline": [
                {"op": "resize", "params": {"width": 800, "height": 800}},
                {"op": "convert", "params": {"format": "jpeg", "quality": 80}},
            ],
        }

        def submit(_: int) -> str:
            r = http.post("/api/v1/jobs", json=body)
            assert r.status_code == 202, r.text
            return str(r.json()["id"])

        def wait_all(ids: set[str]) -> list[dict]:
            while True:
                page = http.get("/api/v1/jobs", params={"limit": 100}).json()["items"]
                done = [j for j in page if j["id"] in ids and j["status"] == "COMPLETED" and j["outputs"][0]["url"]]
                failed = [j for j in page if j["id"] in ids and j["status"] == "FAILED"]
                assert not failed, failed[0]
                if len(done) == len(ids):
                    return done
                time.sleep(0.5)

        with ThreadPoolExecutor(clients) as pool:
            wait_all(set(pool.map(submit, range(4))))  # warm the worker processes
            started = datetime.now(UTC)
            ids = set(pool.map(submit, range(n)))
            jobs = wait_all(ids)
            elapsed = (max(datetime.fromisoformat(j["finished_at"]) for j in jobs) - started).total_seconds()
        latencies = [
            (datetime.fromisoformat(j["finished_at"]) - datetime.fromisoformat(j["created_at"])).total_seconds()
            for j in jobs
        ]
        return n / elapsed, latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=60)
    args = parser.parse_args()

    data = make_photo()
    print(f"input: 4000x3000 JPEG, {len(data) / 1e6:.1f} MB; fit 800x800, JPEG q80; {os.cpu_count()} CPUs")
    print(f"reference, 1 process : median {median_ms(raw_reference, data):.1f} ms/image")
    ref2 = reference_throughput([data] * args.jobs, 2)
    print(f"reference, 2 processes: {ref2:.1f} images/s")
    for clients in (2, 8):
        rate, latencies = pixmill_throughput(data, args.jobs, clients)
        print(
            f"pixmill async jobs, {clients} clients: {rate:.1f} jobs/s "
            f"(median latency {statistics.median(latencies) * 1000:.0f} ms) = {rate / ref2:.2f} x reference"
        )


if __name__ == "__main__":
    main()
