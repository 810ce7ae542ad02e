"""Every process that reads comments starts with its native thread pools set to wait without
spinning (``core/native_threads.py``): set before numpy loads its BLAS, and an operator's
value kept. Workers import it through ``workers``, ``flask --app ivr`` commands through
``ivr``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the process imports before anything runs, then what a job loads; the variables as
# the process sees them after that, and the thread counts of every BLAS loaded.
PROBE = """
import json, os, sys
__import__(sys.argv[1])
import numpy
from threadpoolctl import threadpool_info
blas = sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
env = {k: os.environ.get(k) for k in ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS")}
print(json.dumps({"env": env, "blas": blas}))
"""
ENTRIES = ["workers.worker", "ivr"]


def started(entry: str, **env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, entry],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_process_gets_passive_threads_and_one_blas_thread(entry: str) -> None:
    """Started with nothing set, torch's OpenMP waits passively and numpy's BLAS has one
    thread, though the entry module imports numpy on its way in."""
    found = started(entry)
    assert found["env"] == {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1"}
    assert found["blas"] == [1]


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_operators_thread_settings_are_kept(entry: str) -> None:
    """A value in the environment wins over the default. (Compared as the process sees
    it: how many threads BLAS then starts also depends on the CPUs the process may use.)"""
    found = started(entry, OMP_WAIT_POLICY="ACTIVE", OPENBLAS_NUM_THREADS="2")
    assert found["env"] == {"OMP_WAIT_POLICY": "ACTIVE", "OPENBLAS_NUM_THREADS": "2"}
