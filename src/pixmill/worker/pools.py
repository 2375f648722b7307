"""This process's worker pools, as the runners use them: registered tasks by name, on the standard or ml pool."""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from pixmill.config import Settings
from pixmill.metrics.scrape import Gauge
from pixmill.worker import registry
from pixmill.worker.processes import WorkerPool, stop_pools


class LocalPools:
    """A standard pool and a smaller ml pool (models are big), so model inference never starves standard work."""

    def __init__(self, settings: Settings, relay: Any = None) -> None:
        self.pools = {
            "standard": WorkerPool(settings, relay=relay),
            "ml": WorkerPool(settings, workers=settings.ml_workers, relay=relay),
        }

    def start(self) -> None:
        for pool in self.pools.values():  # processes start lazily, as work arrives
            pool.start()

    def submit(self, task: str, payload: Mapping[str, Any], queue: str | None = None) -> Future[Any]:
        """Run registered task `task` in a pool process; its future holds the task's result or error."""
        spec = registry.get(task)
        queue = queue or spec.queue
        if queue not in self.pools:
            raise ValueError(f"unknown queue {queue!r}")
        return self.pools[queue].submit(registry.invoke, spec.name, dict(payload))

    def check(self) -> None:
        for pool in self.pools.values():
            pool.check()

    def gauges(self) -> list[Gauge]:
        """This API process's pools now: tasks waiting, tasks running, processes (a metrics reading)."""
        loads = {name: pool.load() for name, pool in self.pools.items()}
        pid = str(os.getpid())  # several API processes (serve --workers) each have pools of their own
        return [
            Gauge(
                f"pixmill_pool_{what}", doc, ["pool", "pid"], [((name, pid), load[i]) for name, load in loads.items()]
            )
            for i, (what, doc) in enumerate(
                [
                    ("backlog", "Tasks waiting for a process of an API process's worker pool."),
                    ("busy", "Tasks running in an API process's worker pool."),
                    ("processes", "Processes alive in an API process's worker pool."),
                ]
            )
        ]

    def stop(self) -> None:
        stop_pools(self.pools.values())  # running tasks finish within the grace period; queued ones are cancelled
