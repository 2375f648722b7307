"""The runner port: the one door every piece of background work goes through, whichever runner serves it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from pixmill.errors import PixmillError


class RunnerUnavailable(PixmillError, RuntimeError):
    """The runner cannot take work now (the broker is unreachable, say); the API answers 503."""

    status, title, retry_after = 503, "Job runner unavailable", 5

    def detail(self, show_job: Callable[[str], str] = str) -> str:
        return f"{self}; nothing was queued, try again later"


class Runner(Protocol):
    def start(self) -> None:
        """Begin serving and pick up every job left unfinished."""

    def enqueue(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> None:
        """Queue registered task `task` with `payload` (its keyword arguments) on `queue` (default: the task's).

        Raises RunnerUnavailable when it could not be queued."""

    def call(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> Future[Any]:
        """Run `task` now on this process's pools and return its future: the synchronous renders' way in."""

    def submit(self, job_id: str, queue: str = "standard") -> None:
        """Queue a PENDING job on `queue` (standard, or ml for jobs with model inference): enqueue of run_job."""

    def check(self) -> None:
        """Raise if work cannot run now."""

    def stop(self) -> None: ...


JobRunner = Runner  # the name the routes and the tests have known the port by
