"""The soak in small: 20 calls through gunicorn, 2 workers and the scheduler on PostgreSQL and
Redis, with a worker killed (SIGKILL) and Redis restarted mid-run (``bench/soak.py``).

It needs a PostgreSQL server: the one in ``DATABASE_URL`` when that is PostgreSQL, else
127.0.0.1:5432 as user postgres (where CI runs one). It creates and drops its own database
and runs its own redis-server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
CALLS = 20

pytestmark = pytest.mark.slow


def postgres_server() -> str:
    """A URL of the PostgreSQL server to create the soak's database on."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(url.replace("postgresql+psycopg://", "postgresql://"))
    return urlunsplit(parts._replace(path="/postgres"))


def test_soak_with_a_killed_worker_and_a_redis_restart(tmp_path: Path) -> None:
    """Every comment analysed once, every callback task made once, no 5xx, despite the faults."""
    summary_file = tmp_path / "soak.json"
    result = subprocess.run(
        [
            sys.executable,
            "bench/soak.py",
            "--calls",
            str(CALLS),
            "--postgres",
            postgres_server(),
            "--json",
            str(summary_file),
            "--settle",
            "300",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert summary_file.exists(), result.stdout + result.stderr[-5000:]
    s = json.loads(summary_file.read_text())
    report = result.stdout + "\n".join(s["notes"])
    assert s["calls_completed"] == CALLS, report
    assert s["http_5xx"] == 0 and s["no_answer"] == 0, report
    assert s["recordings_analysed"] == CALLS, report
    # One download may be repeated: the one the SIGKILL cut off before our commit.
    assert s["downloaded_once"] + s["refetched_after_kill"] == CALLS, report
    assert s["refetched_after_kill"] <= 1 and s["downloads_max"] <= 2, report
    assert s["qualifying_with_one_task"] == s["qualifying_callers"] >= CALLS * 2 // 3, report
    assert s["others_with_a_task"] == 0, report
    assert s["recordings"] == CALLS, report
    assert s["worker_killed_job"], report
    # The killed job is retried by our watchdog, not after RQ's 21-minute default. How fast
    # (the 60 s goal) is a speed figure: `make soak` and bench/recovery_bench.py measure it on
    # a machine not also running this suite, which here delayed it to 66 s once.
    assert s["recovery_seconds"] is not None and s["recovery_seconds"] < 300, report
