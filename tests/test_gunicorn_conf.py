"""The web server's settings: every launcher loads them, and a worker freezes its heap."""

from __future__ import annotations

import gc
import re
from pathlib import Path

from ivr import gunicorn_conf

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "--config python:ivr.gunicorn_conf"


def test_every_launcher_of_gunicorn_loads_the_settings() -> None:
    procfile = (ROOT / "Procfile").read_text()
    web = next(line for line in procfile.splitlines() if line.startswith("web:"))
    assert CONFIG in web
    assert CONFIG in (ROOT / "scripts" / "run_local.py").read_text()
    stack = (ROOT / "bench" / "stack.py").read_text()
    assert re.search(r'"--config", "python:ivr.gunicorn_conf"', stack)


def test_a_worker_puts_the_app_it_built_out_of_the_collectors_reach() -> None:
    built = [object() for _ in range(1000)]  # stands for the app's long-lived objects
    assert gc.get_freeze_count() == 0
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() >= len(built)
    finally:
        gc.unfreeze()
