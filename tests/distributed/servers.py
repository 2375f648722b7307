"""Servers of a test's own, to stop and start again at will: a RabbitMQ node and a SeaweedFS S3 store.

The shared RabbitMQ on 127.0.0.1:5672 serves other people and must never be restarted; a test that takes the
broker down starts its own node (own node name, ports, data directory and Erlang cookie) and stops that one.
Every process either server starts carries a marker in its environment, so that teardown can kill all of them,
and only them, whatever state the test left them in.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import string
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from kombu import Connection

from tests.seaweed import ACCESS_KEY, SECRET_KEY, free, free_ports, weed_mini

RABBITMQ_SCRIPTS = Path("/usr/lib/rabbitmq/bin")  # the scripts themselves: /usr/sbin's wrappers `su` to rabbitmq
MARKER = "PIXMILL_TEST_SERVER"


def _marked(marker: str) -> Iterator[int]:
    """Pids of the processes whose environment holds MARKER=marker (their children inherit it)."""
    needle = f"{MARKER}={marker}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if needle in env and comm != "epmd":  # epmd is the machine's name server, shared by every node
            yield int(entry.name)


def _kill_marked(marker: str) -> None:
    for pid in _marked(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _kill(proc: subprocess.Popen[bytes] | None, marker: str) -> None:
    """SIGKILL the process group `proc` leads and every process still carrying `marker`."""
    if proc is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
    _kill_marked(marker)


class PrivateRabbit:
    """A RabbitMQ node of one test, on free 127.0.0.1 ports, its data under `root`; stop() keeps the data."""

    def __init__(self, root: Path) -> None:
        for script in ("rabbitmq-server", "rabbitmqctl"):
            if not (RABBITMQ_SCRIPTS / script).exists():
                pytest.fail(f"{RABBITMQ_SCRIPTS / script} is missing: install the rabbitmq-server package")
        self.root = root
        self.node = f"pixmill-{uuid.uuid4().hex[:12]}@localhost"
        self.port, self.dist_port = _free_pair()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"
        self.log_path = root / "rabbitmq.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds: list[float] = []
        home = root / "home"
        home.mkdir(parents=True)
        cookie = home / ".erlang.cookie"  # read by the node and by rabbitmqctl, both with HOME=home
        cookie.write_text("".join(secrets.choice(string.ascii_uppercase) for _ in range(32)))
        cookie.chmod(0o400)
        (root / "enabled_plugins").write_text("[].\n")  # no management plugin: nothing else listens
        (root / "rabbitmq-env.conf").write_text("")  # instead of /etc/rabbitmq's, which names the shared node
        (root / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))},
            MARKER: self.node,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(root / "log"),
            "RABBITMQ_PID_FILE": str(root / "rabbitmq.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(root / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self, timeout: float = 90) -> None:
        """Start the node (on the data it had) and wait until it takes AMQP connections."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(RABBITMQ_SCRIPTS / "rabbitmq-server")],
                env=self.env,
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = started + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"RabbitMQ node {self.node} exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with Connection(self.url, connect_timeout=1) as conn:
                    conn.ensure_connection(max_retries=0, timeout=1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.kill()
                    pytest.fail(f"RabbitMQ node {self.node} did not open port {self.port}:\n{self.log_tail()}")
                time.sleep(0.2)
        self.start_seconds.append(time.monotonic() - started)

    def ctl(self, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            [str(RABBITMQ_SCRIPTS / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.decode(errors='replace')}")
        return done.stdout.decode(errors="replace")

    def stop(self, timeout: float = 60) -> None:
        """Stop the node as an operator would (rabbitmqctl stop); its durable queues stay on disk."""
        assert self.proc is not None
        self.ctl("stop")
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        try:
            with Connection(self.url, connect_timeout=1) as conn:
                conn.ensure_connection(max_retries=0, timeout=1)
        except Exception:
            return  # nothing listens any more
        raise AssertionError(f"{self.node} still takes connections after rabbitmqctl stop")

    def kill(self) -> None:
        """SIGKILL every process of this node (whatever is left of it)."""
        _kill(self.proc, self.node)

    def log_tail(self) -> str:
        parts = [self.log_path.read_text(errors="replace")[-3000:]] if self.log_path.exists() else []
        parts += [p.read_text(errors="replace")[-3000:] for p in sorted((self.root / "log").glob("*.log"))]
        return "\n".join(parts)


def _free_pair() -> tuple[int, int]:
    """Two free ports for AMQP and Erlang distribution (not RabbitMQ's defaults, which the shared node holds)."""
    while True:
        port, dist = free_ports(2)
        if free(port) and free(dist):
            return port, dist


class PrivateSeaweed:
    """A SeaweedFS `weed mini` of one test, serving S3 on free 127.0.0.1 ports; stop() keeps its data."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marker = f"seaweed-{uuid.uuid4().hex[:12]}"
        self.args, self.endpoint = weed_mini(root)
        self.log_path = root / "weed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_seconds: list[float] = []

    def client(self) -> Any:
        config = Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}, s3={"addressing_style": "path"})
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=config,
        )

    def start(self, timeout: float = 90) -> None:
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.args,
                env={**os.environ, MARKER: self.marker},
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        client = self.client()
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"SeaweedFS exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                client.list_buckets()
                break
            except Exception:
                if time.monotonic() > started + timeout:
                    self.kill()
                    pytest.fail(f"SeaweedFS did not serve S3 at {self.endpoint}:\n{self.log_tail()}")
                time.sleep(0.2)
        self.start_seconds.append(time.monotonic() - started)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        _kill_marked(self.marker)

    def kill(self) -> None:
        _kill(self.proc, self.marker)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
