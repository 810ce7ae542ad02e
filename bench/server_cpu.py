"""CPU that PostgreSQL's backends spend for a bench, read from ``/proc``.

A webhook on PostgreSQL costs CPU in two processes: the web worker's and the backend that
runs its statements (on this machine, the same cores). The webhook benches report both.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy.engine import make_url

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def backends(url: str) -> bytes:
    """What a backend's process title holds for ``url``'s user and database (PostgreSQL
    titles its backends "postgres: [15/main: ]user database host(port) state")."""
    parsed = make_url(url)
    return f": {parsed.username or 'postgres'} {parsed.database} ".encode()


def cpu_by_backend(title: bytes | None) -> dict[int, float]:
    """User + system CPU seconds so far of each live backend whose title holds ``title``
    (none for None: SQLite)."""
    found: dict[int, float] = {}
    if title is None:
        return found
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            if title in Path(f"/proc/{pid}/cmdline").read_bytes():
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                found[int(pid)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return found


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the backends spent between two readings (one that ended in between is
    left out; one that began is counted from zero)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
