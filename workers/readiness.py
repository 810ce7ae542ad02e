"""Worker and scheduler wait for PostgreSQL and Redis at start instead of exiting, and stop
on SIGTERM/SIGINT even while waiting.

A process manager starts every process at once, and the database or Redis may come up
later (or be restarting). Exiting with a traceback would make the process manager's
restart loop the retry policy; here the process retries with backoff and says what it is
waiting for once a minute, in one line.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.db import db
from core.redis_client import get_redis, safe_url

log = logging.getLogger(__name__)

REPORT_EVERY_SECONDS = 60.0
FIRST_DELAY, MAX_DELAY = 0.5, 10.0  # backoff between checks while waiting


class OutageReport:
    """Logs a lasting problem once when it starts, then at most once per ``every`` seconds.

    Args:
        logger: where the lines go.
        every: seconds between two reports of the same ongoing problem.
        clock: monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        logger: logging.Logger,
        every: float = REPORT_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.every = every
        self.clock = clock
        self.since: float | None = None
        self._last_report: float | None = None

    def problem(self, message: str) -> None:
        """Note that the problem is still there; log it if a report is due."""
        now = self.clock()
        if self.since is None:
            self.since = now
        if self._last_report is None or now - self._last_report >= self.every:
            self._last_report = now
            self.logger.warning(
                "%s (for %.0f s; still retrying, next report in %.0f s)",
                message,
                now - self.since,
                self.every,
            )

    def resolved(self, message: str) -> None:
        """The problem is gone: say so once, if it was ever reported."""
        if self.since is not None:
            self.logger.warning("%s after %.0f s", message, self.clock() - self.since)
        self.since = self._last_report = None


def unreachable_services(app: Flask) -> list[str]:
    """What cannot be reached right now, one readable phrase each (empty: all is well)."""
    problems = []
    with app.app_context():
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            problems.append(f"database unreachable ({_reason(exc)})")
        finally:
            db.session.remove()
        try:
            get_redis().ping()
        except (RedisError, OSError) as exc:
            url = safe_url(app.config["REDIS_URL"]) or "embedded Redis"
            problems.append(f"Redis at {url} unreachable ({_reason(exc)})")
    return problems


def wait_for_services(
    app: Flask, stop: threading.Event | None = None, report: OutageReport | None = None
) -> bool:
    """Block until the database and Redis both answer, retrying with backoff.

    Returns:
        True once both answer; False if ``stop`` was set first (the process is stopping).
    """
    stop = stop or threading.Event()
    report = report or OutageReport(log)
    delay = FIRST_DELAY
    while problems := unreachable_services(app):
        report.problem("waiting: " + "; ".join(problems))
        if stop.wait(delay):
            return False
        delay = min(delay * 2, MAX_DELAY)
    report.resolved("database and Redis are reachable")
    return not stop.is_set()


def _reason(exc: BaseException) -> str:
    """The first line of the driver's message: enough to tell refused from bad password."""
    original = getattr(exc, "orig", None) or exc
    first_line = (str(original).strip().splitlines() or [""])[0]
    return f"{type(original).__name__}: {first_line}"[:200]


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the process finishes its round and exits)."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
