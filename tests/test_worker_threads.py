"""A worker process starts with its native thread pools set to wait without spinning
(``workers/__init__.py``): set before numpy loads its BLAS, and an operator's value kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What `python -m workers.worker` imports before anything runs, then what a job loads; the
# thread counts of every BLAS loaded (numpy's, and scipy's when something imports it).
PROBE = """
import json, os
import workers.worker
import numpy
from threadpoolctl import threadpool_info
blas = sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
print(json.dumps({"omp": os.environ.get("OMP_WAIT_POLICY"), "blas": blas}))
"""


def worker_process(**env: str) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_worker_process_gets_passive_threads_and_one_blas_thread() -> None:
    """Started with nothing set, torch's OpenMP waits passively and numpy's BLAS has one
    thread, though the worker module imports numpy on its way in."""
    found = worker_process()
    assert found == {"omp": "PASSIVE", "blas": [1]}


def test_an_operators_thread_settings_are_kept() -> None:
    """A value in the environment wins over the worker's default."""
    found = worker_process(OMP_WAIT_POLICY="ACTIVE", OPENBLAS_NUM_THREADS="2")
    assert found == {"omp": "ACTIVE", "blas": [2]}
