"""The job-events port: every transition of a job is published; live views subscribe to one job's events.

Adapters: in-process fan-out (embedded, local.py; jobs run in spawned pool processes, whose events reach the API
process over a multiprocessing queue, see `LocalEvents.worker_relay`) and Redis pub/sub on the channel
`<prefix>job:<id>` (redis.py), so that every API instance hears what any worker publishes. Events are best effort:
the database stays the record, and a subscriber that hears nothing for a while reads the job again.

An event is a JSON-able dict: `type` (status, step or webhook), `job_id`, `status`, `at`, and the fields of its type.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger("pixmill.events")

Event = dict[str, Any]


class EventsUnavailable(RuntimeError):
    """Events cannot be published or listened to now (the message bus is unreachable)."""


class Subscription(Protocol):
    async def get(self, timeout: float) -> Event | None:
        """The next event, or None when none came within `timeout` seconds."""

    async def close(self) -> None: ...


class JobEvents(Protocol):
    def publish(self, job_id: str, event: Event) -> None:
        """Send `event` to every current subscriber of job `job_id`; EventsUnavailable if it cannot be sent."""

    async def subscribe(self, job_id: str) -> Subscription:
        """Listen to job `job_id` on the running event loop: every event published after this returns arrives.

        EventsUnavailable when the subscription cannot be made."""

    def worker_relay(self) -> Any:
        """What pool worker processes need to publish to this process (Context.from_settings's `relay`), or None."""

    def check(self) -> None:
        """Raise EventsUnavailable if events cannot be delivered now."""

    def close(self) -> None: ...


def emit(events: JobEvents, job_id: str, kind: str, status: str, **fields: Any) -> None:
    """Publish one event of job `job_id`; a failure is logged, never raised (no job fails for want of a listener)."""
    event = {"type": kind, "job_id": job_id, "status": status, "at": datetime.now(UTC).isoformat(), **fields}
    try:
        events.publish(job_id, event)
    except Exception as exc:
        log.warning("job event not published", extra={"job": job_id, "event": kind, "error": repr(exc)})
