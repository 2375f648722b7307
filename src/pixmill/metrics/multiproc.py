"""prometheus-client's multiprocess mode: every process of one host writes its samples to files in one directory
(PIXMILL_METRICS_DIR, default <data dir>/metrics), and a scrape sums them (`scrape.exposition`).

`enable` is called by `pixmill serve` and `pixmill worker` before they start any other process: the API's worker
pools, uvicorn's worker processes and Celery's pool processes inherit PROMETHEUS_MULTIPROC_DIR from the
environment (spawned) or the mode itself (forked). A process where it was never called (tests, `pixmill run`)
keeps its samples in memory, and its /metrics shows that one process.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client's file names: <type>_<pid>.db, gauge_<mode>_<pid>.db
_FILE = re.compile(r"^[a-z]+(?:_[a-z]+)?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_dead(directory: Path) -> int:
    """Delete the files of processes no longer running (a previous run's); returns how many were deleted."""
    deleted = 0
    for path in directory.glob("*.db"):
        match = _FILE.match(path.name)
        if match and not _alive(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
    return deleted


def enable(directory: Path, sweep: bool = True) -> None:
    """Turn multiprocess mode on in this process and every process it starts from now on; `sweep` first deletes
    the files of dead processes (a restart starts its counters from zero, as Prometheus expects of a restart)."""
    directory.mkdir(parents=True, exist_ok=True)
    if sweep:
        sweep_dead(directory)
    os.environ[ENV] = str(directory)
    # prometheus_client picks its value class when first imported; if that came before the environment was set,
    # switch it now. Every pixmill metric has labels, so its values are made on first use, after this.
    from prometheus_client import values

    if not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()


def enabled() -> bool:
    """Whether this process writes its samples to the shared directory."""
    return bool(os.environ.get(ENV))


def process_exited(pid: int) -> None:
    """A process of this host that wrote samples has ended: drop its live gauges (its counters stay counted)."""
    directory = os.environ.get(ENV)
    if not directory:
        return
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(pid, directory)
