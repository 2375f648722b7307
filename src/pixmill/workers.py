"""A pool of worker processes, each with its own Context, for CPU-bound work (jobs and renders)."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from pixmill.config import Settings
from pixmill.context import Context

R = TypeVar("R")

_worker_ctx: Context | None = None


def _init_worker(settings_json: str, relay: Any) -> None:
    global _worker_ctx
    from pixmill.logs import configure_logging

    settings = Settings.model_validate_json(settings_json)
    configure_logging(settings.log_level, settings.log_json)
    _worker_ctx = Context.from_settings(settings, relay=relay)


def _call(fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    assert _worker_ctx is not None, "worker not initialised"
    return fn(_worker_ctx, *args)


class WorkerPool:
    """Spawned processes (image work is CPU-bound: processes, not threads fighting the GIL).

    `submit(fn, *args)` runs `fn(worker_context, *args)` in a worker; fn must be a module-level function.
    A pool broken by a dying worker is replaced on the next submit. `relay` (the API process's
    `events.worker_relay()`) carries the workers' job events to the API process in embedded mode.
    """

    def __init__(self, settings: Settings, workers: int | None = None, relay: Any = None) -> None:
        resolved = settings.model_copy(update={"secret_key": settings.signing_key.decode()})
        self._settings_json = resolved.model_dump_json()
        self._workers = workers or settings.workers
        self._relay = relay
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._settings_json, self._relay),
            max_tasks_per_child=1000,
        )

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        with self._lock:
            if self._pool is None:
                raise RuntimeError("the worker pool is not started")
            if getattr(self._pool, "_broken", False):
                self._pool.shutdown(wait=False, cancel_futures=False)
                self._pool = self._new_pool()
            return self._pool.submit(_call, fn, args)

    def check(self) -> None:
        """Raise if the pool cannot run work; a busy pool is healthy (no probe is queued behind real work)."""
        with self._lock:
            pool = self._pool
        if pool is None:
            raise RuntimeError("the worker pool is not started")
        if getattr(pool, "_broken", False):
            raise RuntimeError("the worker pool is broken")
        processes = getattr(pool, "_processes", None) or {}
        dead = [p.pid for p in processes.values() if not p.is_alive()]
        if dead:
            raise RuntimeError(f"worker processes {dead} have died")

    def stop(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
