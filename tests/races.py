"""Forcing a race deterministically: commit a competing write at the one moment it hurts.

A webhook that reads a row and writes it later loses whatever another request committed
in between. ``committed_before_my_first_write`` runs the competing request to its commit
in another thread just before this thread's first write, every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from core.db import db


@contextmanager
def committed_before_my_first_write(
    app: Flask, writes: tuple[str, ...], compete: Callable[[], object]
) -> Iterator[threading.Event]:
    """Run ``compete`` (in its own app context, to its commit) in another thread just
    before this thread first runs a statement starting with one of ``writes`` (upper
    case); the event is set once it did."""
    me, done, errors = threading.get_ident(), threading.Event(), []

    def run() -> None:
        try:
            with app.app_context():
                compete()
                db.session.remove()
        except Exception as exc:  # reported when the block ends
            errors.append(exc)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() != me or done.is_set():
            return
        if statement.lstrip().upper().startswith(writes):
            done.set()
            other = threading.Thread(target=run)
            other.start()
            other.join(30)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield done
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert errors == []
