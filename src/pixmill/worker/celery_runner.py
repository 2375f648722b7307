"""The distributed runner: background tasks go to RabbitMQ and run on `pixmill worker` processes (Celery)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from kombu import Connection

from pixmill.context import Context
from pixmill.metrics.scrape import Gauge
from pixmill.worker import registry
from pixmill.worker.celery_app import DEAD_QUEUE, declare_topology, make_celery
from pixmill.worker.pools import LocalPools
from pixmill.worker.port import RunnerUnavailable
from pixmill.worker.retry import PUBLISH_RETRY

log = logging.getLogger("pixmill.runner")


class CeleryRunner:
    """Publishes one message per task, with publisher confirms, to the task's queue; a job's message id is its id.

    start() recovers nothing: queued messages are durable in RabbitMQ, and a message whose worker died is
    redelivered (acks late), so unfinished work is the broker's to resume, not the API's. The API's own pools
    serve only the synchronous renders (`call`).
    """

    def __init__(self, ctx: Context, pools: LocalPools) -> None:
        self.ctx = ctx
        self.local = pools
        self.app = make_celery(ctx.settings)
        self._declared = False
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the pools of the synchronous renders; the workers are separate processes."""
        self.local.start()

    def _declare(self) -> None:
        with self._lock:
            if self._declared:
                return
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
                declare_topology(conn)
            self._declared = True

    def enqueue(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> None:
        spec = registry.get(task)
        queue = queue or spec.queue
        if queue not in registry.QUEUES:
            raise ValueError(f"unknown queue {queue!r}")
        # A job's message carries the job id as its task id: the dead-letter tools find the job by it.
        task_id = str(payload["job_id"]) if spec.name == registry.RUN_JOB else None
        try:
            self._declare()
            self.app.tasks[spec.name].apply_async(
                kwargs=dict(payload), task_id=task_id, queue=queue, retry=True, retry_policy=PUBLISH_RETRY
            )
        except Exception as exc:
            log.error("could not queue task", extra={"task": spec.name, "queue": queue, "error": repr(exc)})
            raise RunnerUnavailable(f"the job queue (message broker) is unreachable: {type(exc).__name__}") from exc

    def call(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> Future[Any]:
        return self.local.submit(task, payload, queue)

    def submit(self, job_id: str, queue: str = "standard") -> None:
        self.enqueue(registry.RUN_JOB, {"job_id": job_id}, queue)

    def check(self) -> None:
        """Raise if the broker cannot be reached."""
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)

    def queue_gauges(self) -> list[Gauge]:
        """Messages ready and consumers of each queue (the dead letters too), read now from RabbitMQ with a passive
        declare: it creates nothing, and a queue not declared yet is left out (a metrics reading)."""
        depth: list[tuple[tuple[str], float]] = []
        consumers: list[tuple[tuple[str], float]] = []
        with Connection(self.ctx.settings.broker_url, connect_timeout=1) as conn:
            conn.ensure_connection(max_retries=1, timeout=1)
            for queue in (*registry.QUEUES, DEAD_QUEUE):
                channel = conn.channel()
                try:
                    _, messages, count = channel.queue_declare(queue=queue, passive=True)
                except conn.channel_errors:  # no such queue (yet): the broker closed this channel
                    continue
                else:
                    channel.close()
                depth.append(((queue,), float(messages)))
                consumers.append(((queue,), float(count)))
        return [
            Gauge(
                "pixmill_queue_messages", "Messages ready in a RabbitMQ queue, read at scrape time.", ["queue"], depth
            ),
            Gauge(
                "pixmill_queue_consumers", "Consumers of a RabbitMQ queue, read at scrape time.", ["queue"], consumers
            ),
        ]

    def stop(self) -> None:
        self.app.close()
        self.local.stop()
