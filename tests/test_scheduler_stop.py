"""A worker stopped as it starts: the scheduler process it forked still stops."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
from redis import Redis
from rq import Queue

from workers.readiness import stop_on_signals
from workers.recovery import ParentBoundScheduler


def test_a_scheduler_stopped_before_it_is_ready_still_stops(
    redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The child is slow to reach ``work()`` (a loaded machine); the worker's teardown sends
    it SIGTERM in that gap and waits for it, as RQ's ``stop_scheduler`` does."""
    real_work = ParentBoundScheduler.work

    def slow_work(self: ParentBoundScheduler) -> Any:
        time.sleep(1.5)  # the child's own handlers come only now
        return real_work(self)

    monkeypatch.setattr(ParentBoundScheduler, "work", slow_work)
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    stop_on_signals(threading.Event())  # the worker's handlers, as workers.worker installs
    workers_own = signal.getsignal(signal.SIGTERM)
    try:
        # A plain client on the same server: the scheduler rebuilds its connection from the
        # client's class, and a second embedded-Redis client would try to stop it at exit.
        connection = Redis(connection_pool=redis_conn.connection_pool)
        scheduler = ParentBoundScheduler(
            [Queue("scheduler-stop-test", connection=connection)], connection=connection
        )
        scheduler.acquire_locks()
        process = scheduler.start()
        assert signal.getsignal(signal.SIGTERM) is workers_own  # back once the child is forked
        time.sleep(0.3)  # forked, not yet in work()
        os.kill(process.pid, signal.SIGTERM)
        process.join(timeout=20)
        stopped = process.exitcode
        if stopped is None:
            process.kill()
            process.join()
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
    assert stopped == 0
