"""Gunicorn settings every web server of ours loads: ``gunicorn --config python:ivr.gunicorn_conf``
(the Procfile's ``web`` line, ``make run``, the benches)."""

from __future__ import annotations

import gc


def post_worker_init(worker: object) -> None:
    """Once the app is built in a worker, put what it built out of the collector's reach.

    The app's long-lived objects (imports, SQLAlchemy metadata, compiled statements) are
    most of the heap; a full collection walked them all and held the GIL for 72-95 ms,
    every second or so under load, and a webhook caught behind one (or behind a thread
    holding SQLite's write gate) waited as long (``bench/webhook_bench.py``). Objects made
    later are collected as usual.
    """
    gc.collect()
    gc.freeze()
