"""The registry of named background tasks: what `enqueue` and `call` accept, and what every runner executes.

A task is a module-level function `fn(ctx, **payload)`. The in-process pools run it through `invoke` in a pool
process; a Celery task is a thin shell around the same `invoke`; nothing else knows where a task runs. Each domain
registers its tasks in its own `tasks.py` (listed in TASK_MODULES), so a worker process that imports the registry
knows every task the API may send.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

QUEUES = ("standard", "ml")

RUN_JOB = "pixmill.run_job"
EXPIRE = "pixmill.expire"
RENDER_ORDER = "pixmill.render_order"
CANVAS_PREVIEW = "pixmill.canvas_preview"
ORDER_GUIDE = "pixmill.order_guide"
RENDER = "pixmill.render"

TASK_MODULES = ("pixmill.jobs.tasks", "pixmill.storefront.tasks", "pixmill.render.tasks", "pixmill.expiry")


class UnknownTask(LookupError):
    """No task is registered under that name."""


@dataclass(frozen=True)
class Task:
    name: str
    fn: Callable[..., Any]
    queue: str = "standard"
    # The task counts its own attempts (worker.retry.MAX_ATTEMPTS), so a runner may run it again when its process
    # died; Celery does so for every task (acks late), the in-process runner for these.
    rerun_if_process_dies: bool = False


_tasks: dict[str, Task] = {}
_redelivered: contextvars.ContextVar[bool] = contextvars.ContextVar("pixmill_redelivered", default=False)


def register(name: str, fn: Callable[..., Any], queue: str = "standard", rerun_if_process_dies: bool = False) -> Task:
    """Register `fn(ctx, **payload)` as task `name`, run on `queue` unless the caller picks another."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    existing = _tasks.get(name)
    if existing is not None and existing.fn is not fn:
        raise ValueError(f"task {name!r} is already registered to {existing.fn.__qualname__}")
    _tasks[name] = Task(name, fn, queue, rerun_if_process_dies)
    return _tasks[name]


def load() -> None:
    """Import every domain's tasks module, so that every task is registered in this process."""
    for module in TASK_MODULES:
        importlib.import_module(module)


def get(name: str) -> Task:
    if name not in _tasks:
        load()
    try:
        return _tasks[name]
    except KeyError:
        raise UnknownTask(name) from None


def all_tasks() -> list[Task]:
    load()
    return sorted(_tasks.values(), key=lambda t: t.name)


def invoke(ctx: Any, name: str, payload: Mapping[str, Any]) -> Any:
    """Run task `name` here, now: what a pool process and a Celery shell both call."""
    return get(name).fn(ctx, **payload)


@contextlib.contextmanager
def delivery(redelivered: bool) -> Iterator[None]:
    """Mark the task run inside as a redelivery: the broker gave it back because its last holder is gone."""
    token = _redelivered.set(redelivered)
    try:
        yield
    finally:
        _redelivered.reset(token)


def redelivered() -> bool:
    """Whether the running task is a redelivered message (Celery: its last worker died or lost the broker)."""
    return _redelivered.get()
