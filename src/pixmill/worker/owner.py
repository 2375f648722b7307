"""Who holds a claim on a piece of work: a process named so that any process on its host can tell if it is gone.

A claim records `host/pid/start-time`. The start time (Linux: /proc/<pid>/stat) tells a reused pid from the process
that made the claim. A process on another host cannot be checked from here, so it counts as alive: its work is the
broker's to hand back (Celery redelivers the message of a worker that died), never another process's to reset.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name: field 3 (state) is fields[0]
    if fields[0] in ("Z", "X"):  # exited, not yet reaped: gone all the same
        return None
    return fields[19]  # field 22: start time in clock ticks since boot


def of_pid(pid: int) -> str:
    """The claim name of process `pid` on this host."""
    return f"{socket.gethostname()}/{pid}/{_start_time(pid) or 0}"


def this_process() -> str:
    """The claim name of this process (computed each time: a forked pool process gets its own)."""
    return of_pid(os.getpid())


def pid_of(owner: str) -> int | None:
    """The process id in a claim name, or None for a malformed one."""
    parts = owner.split("/")
    try:
        return int(parts[-2]) if len(parts) >= 3 else None
    except ValueError:
        return None


def is_gone(owner: str | None) -> bool:
    """Whether the process that made claim `owner` has surely ended (None: a claim from before owners were kept)."""
    if owner is None:
        return True
    host, _, rest = owner.partition("/")
    pid_text, _, started = rest.partition("/")
    if host != socket.gethostname():
        return False
    try:
        pid = int(pid_text)
    except ValueError:
        return True
    now = _start_time(pid)
    if now is not None:
        return started not in ("0", now)
    if Path("/proc/self/stat").exists():  # Linux, and no live process has this pid
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process holds the pid
        return False
    return False


def may_take_over(owner: str | None, redelivered: bool) -> bool:
    """Whether work claimed by `owner` may be claimed anew: its process is gone, or the broker redelivered the
    message of a process on another host (which only the broker can know is gone). A live process on this host
    keeps its work even then: its message came back because its connection dropped, not because it died."""
    if is_gone(owner):
        return True
    assert owner is not None
    return redelivered and owner.partition("/")[0] != socket.gethostname()
