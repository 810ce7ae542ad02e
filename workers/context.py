"""One Flask app per worker process; jobs run inside its app context."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

from ivr import create_app

_app: Flask | None = None


def worker_app() -> Flask:
    """The process's app, built once (the worker entry point builds it before forking jobs)."""
    global _app
    if _app is None:
        _app = create_app()
    return _app


@contextmanager
def job_context() -> Iterator[Flask]:
    """Run a job in a fresh app context (its own database session).

    In-process workers (tests, ``flask worker --burst``) reuse the current app.
    """
    app = current_app._get_current_object() if has_app_context() else worker_app()  # type: ignore[attr-defined]
    with app.app_context():
        yield app
