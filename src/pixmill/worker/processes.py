"""A pool of worker processes, each with its own Context, for CPU-bound work (jobs and renders).

One supervisor thread owns the processes: it spawns them, hands each one task at a time, reads the answers and
watches each process's sentinel. A process that dies fails only the task it was running (`WorkerDied`) and is
replaced at once; queued tasks wait for the next free process. (`concurrent.futures.ProcessPoolExecutor` cannot do
this: one dead worker breaks the whole executor and fails every queued future with it.)

Each process dies with the API process (the kernel kills it when the supervisor thread that spawned it is gone), lets
SIGINT and SIGTERM pass (the pool decides when it stops, so a signal to the process group does not kill running jobs),
and runs at a lower CPU priority (`PIXMILL_WORKER_NICE`) so that the API answers quickly while every core is busy.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from pixmill.config import Settings
from pixmill.context import Context
from pixmill.errors import PixmillError
from pixmill.metrics.instruments import TASK_FAILURES
from pixmill.metrics.multiproc import process_exited

R = TypeVar("R")

log = logging.getLogger("pixmill.worker.processes")

_worker_ctx: Context | None = None
_READY = "ready"
_PR_SET_PDEATHSIG = 1
_MAX_TASKS_PER_CHILD = 1000
_START_BACKOFF_MAX_S = 30.0


class WorkerStopped(PixmillError, RuntimeError):
    """The process answering a request stopped; the pool has already replaced it (or is shutting down), so the
    same request can simply be sent again."""

    status, title, retry_after = 503, "Worker stopped", 1

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"the worker process answering this request stopped ({self}); nothing was kept, try again"


class WorkerDied(WorkerStopped):
    """The process running the task died (killed, out of memory, a crash in native code) before it answered."""


class PoolStopped(WorkerStopped):
    """The pool was stopped while the task ran and its grace period ran out, so its process was killed."""


# --- in the worker process ---------------------------------------------------------------------------------------


def _die_with_parent(parent_pid: int) -> None:
    """Exit when the API process dies: PR_SET_PDEATHSIG on Linux, else a thread that watches the parent's pid."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent_pid:  # the parent died before prctl took effect: no signal will come
                    os._exit(1)
                return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="pixmill-parent-watch", daemon=True).start()


def _init_worker(settings_json: str, relay: Any) -> None:
    global _worker_ctx
    from pixmill.logs import configure_logging

    settings = Settings.model_validate_json(settings_json)
    configure_logging(settings.log_level, settings.log_json)
    _worker_ctx = Context.from_settings(settings, relay=relay)


def _call(fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    assert _worker_ctx is not None, "worker not initialised"
    return fn(_worker_ctx, *args)


def _serve(conn: Connection, settings_json: str, relay: Any, parent_pid: int, nice: int) -> None:
    """A worker process's life: set up, then run the tasks the supervisor sends until it sends None."""
    _die_with_parent(parent_pid)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    if nice:
        os.nice(nice)
    _init_worker(settings_json, relay)
    conn.send(_READY)
    for _ in range(_MAX_TASKS_PER_CHILD):  # then exit, and the supervisor starts a fresh process (leaks stay bounded)
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        fn, args = task
        try:
            reply: tuple[bool, Any] = (True, _call(fn, args))
        except BaseException as exc:
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # the answer does not pickle; the pipe is intact (pickling comes before sending)
            what = "result" if reply[0] else f"error ({reply[1]!r})"
            conn.send((False, RuntimeError(f"the task's {what} cannot be sent back: {exc!r}")))


# --- in the API process ------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Worker:
    process: Any  # multiprocessing's SpawnProcess
    conn: Connection
    ready: bool = False
    task: Future[Any] | None = None
    told_to_stop: bool = False
    killed_at_deadline: bool = False
    task_name: str = ""  # what it runs (a registered task's name), for the failure counter


def _exit_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"


class WorkerPool:
    """Spawned processes (image work is CPU-bound: processes, not threads fighting the GIL).

    `submit(fn, *args)` runs `fn(worker_context, *args)` in a worker; fn must be a module-level function. Processes
    start as work arrives, up to `workers`. A task whose process died fails with `WorkerDied`; the process is replaced
    and every other task runs as usual. `relay` (the API process's `events.worker_relay()`) carries the workers' job
    events to the API process in embedded mode.
    """

    def __init__(self, settings: Settings, workers: int | None = None, relay: Any = None) -> None:
        resolved = settings.model_copy(update={"secret_key": settings.signing_key.decode()})
        self._settings_json = resolved.model_dump_json()
        self._workers = workers or settings.workers
        self._relay = relay
        self._nice = settings.worker_nice
        self.grace_s = settings.shutdown_grace_s
        self._mp = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._wanted = 0  # processes to keep: grows with the work, up to `workers`
        self._thread: threading.Thread | None = None
        self._closing = False
        self._deadline: float | None = None  # when closing: running tasks past it are killed
        self._start_failure: str | None = None
        self._snapshot: list[_Worker] = []  # the supervisor's workers, for the exit hook
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    # -- the public surface, safe from any thread --

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._closing:
                # The supervisor spawns every process and outlives them all: PR_SET_PDEATHSIG is tied to it.
                self._thread = threading.Thread(target=self._supervise, name="pixmill-pool", daemon=True)
                self._thread.start()
                _live_pools.add(self)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        future: Future[R] = Future()
        with self._lock:
            if self._thread is None:
                raise RuntimeError("the worker pool is not started")
            if self._closing:
                raise RuntimeError("the worker pool is stopped")
            self._queue.append((future, fn, args))
        self._wake()
        return future

    def check(self) -> None:
        """Raise if the pool cannot run work; a busy pool is healthy (no probe is queued behind real work)."""
        with self._lock:
            thread, closing, failure = self._thread, self._closing, self._start_failure
        if thread is None or closing:
            raise RuntimeError("the worker pool is not started")
        if not thread.is_alive():
            raise RuntimeError("the worker pool's supervisor thread stopped")
        if failure is not None:
            raise RuntimeError(failure)

    def load(self) -> tuple[int, int, int]:
        """Tasks waiting for a process, tasks running, and processes alive (for the metrics' pool gauges)."""
        with self._lock:
            workers = list(self._snapshot)
            return len(self._queue), sum(1 for w in workers if w.task is not None), len(workers)

    def close(self) -> None:
        """Stop taking work: queued tasks are cancelled, running ones go on for `grace_s` more seconds."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._deadline = time.monotonic() + self.grace_s
            queued = list(self._queue)
            self._queue.clear()
        for future, _, _ in queued:
            future.cancel()
        self._wake()

    def join(self) -> None:
        """Wait until every process is gone (at most the grace period after close)."""
        thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            fds, self._wake_r, self._wake_w = (self._wake_r, self._wake_w), -1, -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)

    def stop(self) -> None:
        """Close, then wait: running tasks get the grace period (PIXMILL_SHUTDOWN_GRACE_S), then their processes die."""
        self.close()
        self.join()

    # -- the supervisor thread --

    def _wake(self) -> None:
        with self._lock, contextlib.suppress(BlockingIOError):  # a full pipe wakes the supervisor just as well
            if self._wake_w >= 0:
                os.write(self._wake_w, b"x")

    def _spawn(self) -> _Worker:
        ours, theirs = self._mp.Pipe()
        process = self._mp.Process(
            target=_serve,
            args=(theirs, self._settings_json, self._relay, os.getpid(), self._nice),
            name="pixmill-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _supervise(self) -> None:
        workers: list[_Worker] = []
        start_failures = 0
        next_start = 0.0
        try:
            while True:
                with self._lock:
                    closing, deadline = self._closing, self._deadline
                    if not closing:
                        busy = sum(1 for w in workers if w.task is not None)
                        self._wanted = max(self._wanted, min(self._workers, busy + len(self._queue)))
                if closing:
                    for w in workers:
                        if w.task is not None or w.told_to_stop:
                            continue
                        w.told_to_stop = True
                        if not w.ready:  # still starting, nothing to finish
                            w.process.kill()
                            continue
                        with contextlib.suppress(OSError):
                            w.conn.send(None)
                    if deadline is not None and time.monotonic() >= deadline:
                        for w in workers:
                            if w.process.is_alive() and not w.killed_at_deadline:
                                log.warning(
                                    "worker killed at the end of the grace period", extra={"pid": w.process.pid}
                                )
                                w.killed_at_deadline = w.told_to_stop = True
                                w.process.kill()
                    if not workers:
                        return
                else:
                    self._dispatch(workers)
                    now = time.monotonic()
                    while len(workers) < self._wanted and now >= next_start:
                        try:
                            workers.append(self._spawn())
                        except Exception as exc:  # out of processes or memory: try again later, health says why
                            start_failures, next_start = self._start_failed(repr(exc), start_failures)
                            break
                        with self._lock:
                            self._snapshot = list(workers)
                timeout = 1.0
                if closing and deadline is not None:
                    timeout = max(0.0, min(timeout, deadline - time.monotonic()))
                elif len(workers) < self._wanted:
                    timeout = max(0.0, min(timeout, next_start - time.monotonic()))
                handles: list[Any] = [self._wake_r]
                for w in workers:
                    handles += [w.conn, w.process.sentinel]
                ready = set(wait(handles, timeout))
                if self._wake_r in ready:
                    os.read(self._wake_r, 4096)
                for w in list(workers):
                    if w.conn in ready or w.process.sentinel in ready:
                        self._read(w)
                    if w.process.sentinel in ready:
                        w.process.join()
                        workers.remove(w)
                        w.conn.close()
                        start_failures, next_start = self._buried(w, start_failures, next_start)
                        with self._lock:
                            self._snapshot = list(workers)
        except BaseException:
            log.exception("worker pool supervisor crashed")
            for w in workers:
                w.process.kill()
                if w.task is not None:
                    w.task.set_exception(WorkerDied("the worker pool's supervisor crashed"))
            raise
        finally:
            self._fail_queued(RuntimeError("the worker pool stopped"))

    def _dispatch(self, workers: list[_Worker]) -> None:
        for w in workers:
            if not w.ready or w.task is not None:
                continue
            while w.task is None:
                with self._lock:
                    if not self._queue:
                        return
                    future, fn, args = self._queue.popleft()
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    w.conn.send((fn, args))
                except OSError:  # the process is dying: its sentinel fails the task as WorkerDied
                    w.task = future
                except Exception as exc:  # the task does not pickle
                    future.set_exception(exc)
                else:
                    w.task = future
                if w.task is future:
                    w.task_name = args[0] if args and isinstance(args[0], str) else getattr(fn, "__name__", "task")

    def _read(self, w: _Worker) -> None:
        """Take every answer waiting on the worker's pipe."""
        while not w.conn.closed:
            try:
                if not w.conn.poll():
                    return
                message = pickle.loads(w.conn.recv_bytes())
            except (EOFError, OSError):
                return
            except Exception as exc:  # an answer that does not unpickle here
                message = (False, RuntimeError(f"the task's answer cannot be read: {exc!r}"))
            if message == _READY:
                w.ready = True
                with self._lock:
                    self._start_failure = None
                continue
            future, w.task = w.task, None
            if future is None:
                continue
            ok, value = message
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _buried(self, w: _Worker, start_failures: int, next_start: float) -> tuple[int, float]:
        """Account for a process that ended: fail its task, and slow restarts down when processes cannot start."""
        reason = _exit_reason(w.process.exitcode)
        process_exited(w.process.pid)
        if w.task is not None:
            future, w.task = w.task, None
            if w.killed_at_deadline:
                future.set_exception(PoolStopped(f"worker process {w.process.pid} was stopped ({reason})"))
            else:
                log.error("worker process died", extra={"pid": w.process.pid, "reason": reason})
                TASK_FAILURES.labels(w.task_name[:64] or "task", "worker_died").inc()
                future.set_exception(WorkerDied(f"worker process {w.process.pid} died ({reason})"))
        if w.ready or w.told_to_stop:
            return 0, 0.0
        return self._start_failed(reason, start_failures)

    def _start_failed(self, reason: str, start_failures: int) -> tuple[int, float]:
        """Note one more process that could not start; the next try waits longer (0.5 s doubling, up to 30 s)."""
        start_failures += 1
        log.error("worker process failed to start", extra={"reason": reason, "times": start_failures})
        with self._lock:
            self._start_failure = f"worker processes cannot start ({reason}, {start_failures} times in a row)"
        return start_failures, time.monotonic() + min(_START_BACKOFF_MAX_S, 0.5 * 2 ** (start_failures - 1))

    def _fail_queued(self, exc: Exception) -> None:
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
        for future, _, _ in queued:
            if future.set_running_or_notify_cancel():
                future.set_exception(exc)


_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _kill_pools_at_exit() -> None:
    # Runs before multiprocessing's own exit hook, which would SIGTERM (ignored by our workers) and join forever.
    for pool in list(_live_pools):
        for w in pool._snapshot:
            with contextlib.suppress(Exception):
                w.process.kill()


def stop_pools(pools: Iterable[WorkerPool]) -> None:
    """Stop several pools under one grace period: all stop taking work first, then each is waited for."""
    pools = list(pools)
    for pool in pools:
        pool.close()
    for pool in pools:
        pool.join()
