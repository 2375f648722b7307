"""The dead-letter queue `pixmill.dead`: list what RabbitMQ dead-lettered, put it back on its queue (all of it, or
one job's message), or drop it.

A job whose message was dead-lettered is FAILED (the worker that rejected the message marked it);
`pixmill dlq requeue` puts such a job back to PENDING before it publishes its message again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Producer

from pixmill.adapters.events import emit
from pixmill.context import Context
from pixmill.jobs import repository, snapshots, states
from pixmill.worker.celery_app import DEAD_QUEUE, dead_queue, declare_topology

_DEATH_HEADERS = {
    f"x-{which}-death-{field}" for which in ("first", "last") for field in ("exchange", "queue", "reason")
} | {"x-death"}
REQUEUED_HEADER = "x-pixmill-requeued"  # how many times `pixmill dlq requeue` sent a message back
_KEPT_PROPERTIES = ("correlation_id", "reply_to", "priority", "message_id", "expiration")


@dataclass
class DeadLetter:
    task: str | None
    task_id: str | None
    reason: str
    queue: str | None
    exchange: str
    routing_keys: list[str]
    count: int
    requeued: int
    content_type: str | None
    size: int


def _describe(message: Any) -> DeadLetter:
    headers = message.headers or {}
    deaths = headers.get("x-death") or [{}]
    first = deaths[0]
    return DeadLetter(
        task=headers.get("task"),
        task_id=headers.get("id"),
        reason=str(first.get("reason") or headers.get("x-first-death-reason") or "unknown"),
        queue=first.get("queue") or headers.get("x-first-death-queue"),
        exchange=str(first.get("exchange") or ""),
        routing_keys=[str(k) for k in first.get("routing-keys") or []],
        count=int(first.get("count") or 1),
        requeued=int(headers.get(REQUEUED_HEADER) or 0),
        content_type=message.content_type,
        size=len(message.body or b""),
    )


def list_dead(broker_url: str, limit: int = 1000) -> list[DeadLetter]:
    """The dead-lettered messages, oldest first; they stay in the queue (read, then given back unacked)."""
    found: list[DeadLetter] = []
    with Connection(broker_url) as conn:
        declare_topology(conn)
        channel = conn.channel()
        try:
            queue = dead_queue(channel)
            while len(found) < limit:
                message = queue.get(no_ack=False, accept=None)
                if message is None:
                    break
                found.append(_describe(message))
        finally:
            channel.close()  # the unacknowledged messages go back to the queue, in order
    return found


def requeue_dead(
    broker_url: str,
    limit: int = 1000,
    before_publish: Callable[[DeadLetter], None] | None = None,
    task_id: str | None = None,
) -> list[DeadLetter]:
    """Publish each dead-lettered message again to the queue it died on (body and headers as they were).

    before_publish: called with each message before it is published (to reopen its job).
    task_id: move only the messages of this task (a job's id); the others stay, in their order.
    """
    moved: list[DeadLetter] = []
    with Connection(broker_url, transport_options={"confirm_publish": True}) as conn:
        declare_topology(conn)
        channel = conn.channel()
        try:
            queue = dead_queue(channel)
            producer = Producer(channel)
            waiting = queue.queue_declare(passive=True).message_count  # not what dies again while we move
            seen = 0
            while len(moved) < limit and seen < waiting:
                message = queue.get(no_ack=False, accept=None)
                seen += 1
                if message is None:
                    break
                info = _describe(message)
                if task_id is not None and info.task_id != task_id:
                    continue  # left unacknowledged: back in the queue, in order, when the channel closes
                if not info.queue:
                    message.reject(requeue=True)
                    raise RuntimeError(f"a message in {DEAD_QUEUE} has no x-death header: cannot tell its queue")
                headers = {k: v for k, v in (message.headers or {}).items() if k not in _DEATH_HEADERS}
                headers[REQUEUED_HEADER] = info.requeued + 1
                properties = {k: message.properties[k] for k in _KEPT_PROPERTIES if k in message.properties}
                if before_publish is not None:
                    before_publish(info)
                # The default exchange routes by queue name: straight back to the queue it died on.
                producer.publish(
                    message.body,
                    exchange="",
                    routing_key=info.queue,
                    headers=headers,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    delivery_mode=2,
                    **properties,
                )
                message.ack()
                moved.append(info)
        finally:
            channel.close()
    return moved


def purge_dead(broker_url: str) -> int:
    """Drop every dead-lettered message; returns how many. Their jobs stay FAILED."""
    with Connection(broker_url) as conn:
        declare_topology(conn)
        channel = conn.channel()
        try:
            return int(dead_queue(channel).purge() or 0)
        finally:
            channel.close()


def reopen_job(ctx: Context, job_id: str) -> bool:
    """Put a FAILED job back to PENDING, attempts from zero, so that its requeued message runs it again."""
    with ctx.session() as s:
        job = repository.get(s, job_id)
        if job is None or job.status != states.FAILED:
            return False
        job.status = states.PENDING
        job.error = None
        job.attempts = 0
        job.started_at = None
        job.finished_at = None
        job.webhook_status = None
        s.commit()
    snapshots.forget(ctx, job_id)
    emit(ctx.events, job_id, "status", states.PENDING, requeued=True)
    return True
