"""A job's live view as Server-Sent Events: its state first, then each event, and its state again when final.

Events come from the events port; as they are best effort, a stream that hears nothing for IDLE_S reads the
job from the database again, so it ends even where no event can reach this process (the celery runner without
Redis, say), and a comment line every KEEPALIVE_S keeps proxies from closing a quiet connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import anyio
from starlette.concurrency import run_in_threadpool

from pixmill.adapters.events import Subscription
from pixmill.context import Context
from pixmill.db.models import Job
from pixmill.jobs import service, states

log = logging.getLogger("pixmill.events")

IDLE_S = 2.0
KEEPALIVE_S = 15.0


def sse(event: str, data: str) -> str:
    """One Server-Sent Event (`data` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n"


async def subscribe(ctx: Context, job_id: str) -> Subscription | None:
    """A subscription to job `job_id`, or None when events cannot be had now (the stream then only polls)."""
    try:
        return await ctx.events.subscribe(job_id)
    except Exception as exc:
        log.warning("job events unavailable, polling instead", extra={"job": job_id, "error": repr(exc)})
        return None


async def close(subscription: Subscription | None) -> None:
    """Close `subscription`, even from a cancelled stream (the client went away)."""
    if subscription is None:
        return
    with anyio.CancelScope(shield=True):
        try:
            await subscription.close()
        except Exception as exc:
            log.warning("job events subscription not closed cleanly", extra={"error": repr(exc)})


async def job_stream(
    ctx: Context, job: Job, subscription: Subscription | None, render: Callable[[Job], str]
) -> AsyncIterator[str]:
    """The events of `job` (already subscribed to, so nothing after its reading is missed) until a final status.

    render: the job as the JSON of a `state` event.
    """
    try:
        yield sse("state", render(job))
        if job.status in states.FINAL:
            return
        status, quiet = job.status, 0.0
        while status not in states.FINAL:
            event = None
            if subscription is not None:
                try:
                    event = await subscription.get(IDLE_S)
                except Exception as exc:
                    log.warning("job events lost, polling instead", extra={"job": job.id, "error": repr(exc)})
                    await close(subscription)
                    subscription = None
            else:
                await asyncio.sleep(IDLE_S)
            if event is not None:
                quiet = 0.0
                kind, previous = str(event.get("type", "status")), status
                status = str(event.get("status", status))
                if kind != "status" or status != previous:  # a status already told (by a re-read) is not repeated
                    yield sse(kind, json.dumps(event))
                continue
            try:
                current = await run_in_threadpool(service.get_job, ctx, job.id)
            except service.JobNotFound:
                return
            if current.status != status:
                status, quiet = current.status, 0.0
                event = {"type": "status", "job_id": job.id, "status": status, "at": datetime.now(UTC).isoformat()}
                yield sse("status", json.dumps(event))
            else:
                quiet += IDLE_S
                if quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
        try:
            final = await run_in_threadpool(service.get_job, ctx, job.id)
        except service.JobNotFound:
            return
        yield sse("state", render(final))
    finally:
        await close(subscription)
