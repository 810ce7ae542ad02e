"""Crash recovery in seconds: short job heartbeats, and a scheduler that dies with its worker.

RQ's SimpleWorker runs a job in its own process and sends no heartbeat while it runs, so
RQ gives the job's StartedJobRegistry entry the whole job timeout plus a minute (16 minutes
for a transcription) before it counts as abandoned, and notices at the next registry
cleanup (every 10 minutes). Here a thread refreshes RQ's own heartbeats (worker, execution,
job) every ``JOB_HEARTBEAT_SECONDS`` with a ``JOB_HEARTBEAT_TTL`` lease while a job runs.
A worker killed mid-job stops beating, its entry expires within the lease, and the
scheduler process's watchdog or any worker's registry cleanup (``workers.watchdog``) puts
the job back at the front of its queue. The pipeline's stages are idempotent, so the
rerun does only what is left.

``work(with_scheduler=True)`` forks RQ's scheduler next to the worker; a worker killed with
SIGKILL left it running and holding the scheduler lock. ``ParentBoundScheduler`` stops and
releases the lock within a second of its worker's death, and workers look for a free
scheduler lock every ``MAINTENANCE_SECONDS`` (RQ: 10 minutes), so another worker's
scheduler takes over promptly.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.worker import WorkerStatus

from workers.readiness import OutageReport
from workers.watchdog import recover_abandoned

log = logging.getLogger(__name__)

JOB_HEARTBEAT_SECONDS = 5
JOB_HEARTBEAT_TTL = 20  # four missed beats: the worker is gone
WORKER_TTL = 30  # an idle worker wakes from its blocking dequeue every WORKER_TTL - 15 s
MAINTENANCE_SECONDS = 15  # registry cleanup and scheduler-lock takeover (RQ: 600)


class JobHeartbeat:
    """Calls ``beat`` every ``every`` seconds from a thread until the block ends.

    It gives up after ``give_up_after`` seconds: a job that outlived its timeout is left
    to look abandoned rather than kept alive by the thread.
    """

    def __init__(self, beat: Callable[[], None], every: float, give_up_after: float) -> None:
        self.beat = beat
        self.every = every
        self.give_up_after = give_up_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def __enter__(self) -> JobHeartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic() + self.give_up_after
        while not self._stop.wait(self.every) and time.monotonic() < deadline:
            try:
                self.beat()
            except RedisError as exc:  # Redis restarting: the lease covers a short outage
                log.warning("job heartbeat not sent: %s", exc)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


class ParentBoundScheduler(RQScheduler):
    """RQ's scheduler child process, which stops once the worker that forked it is gone.

    It also rides out a Redis restart: RQ's scheduler process dies on the first Redis error
    and leaves its lock to expire (a minute without retries and ``enqueue_at`` jobs);
    this one reports the outage once a minute and carries on.
    """

    _parent_pid = 0
    _outage: OutageReport | None = None

    def start(self) -> Any:
        """Fork the scheduler's process; a stop sent to it before it is ready still counts.

        The child inherits the worker's signal handlers and installs its own only in
        ``work()``. A SIGTERM in between (the worker stopped as it started: its teardown
        sends one, then waits for the child) was taken by the worker's handler, which the
        child never reads, and the worker waited for ever. So stop signals are held back
        across the fork: the worker gets its own at once after it, the child when its
        handlers are in place (``_install_signal_handlers``).
        """
        self._parent_pid = os.getpid()  # the worker; the forked child inherits the value
        before = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            return super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, before)

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # the child: see start()

    def heartbeat(self) -> None:
        if self._parent_pid and os.getppid() != self._parent_pid:
            self.log.warning(
                "Scheduler %s: worker %s is gone; releasing the scheduler lock",
                self.name,
                self._parent_pid,
            )
            self.request_stop()  # the loop calls stop(): locks released, death registered
            return
        self._despite_outage(super().heartbeat)

    def enqueue_scheduled_jobs(self) -> None:
        self._despite_outage(super().enqueue_scheduled_jobs)

    def acquire_locks(self, auto_start: bool = False) -> Any:
        return self._despite_outage(functools.partial(super().acquire_locks, auto_start))

    def stop(self) -> None:
        self._despite_outage(super().stop)  # else the lock expires on its own

    def _despite_outage(self, step: Callable[[], Any]) -> Any:
        if self._outage is None:
            self._outage = OutageReport(self.log)
        try:
            result = step()
        except RedisError as exc:
            self._outage.problem(f"Scheduler {self.name}: Redis unreachable ({exc})")
            return set()
        self._outage.resolved(f"Scheduler {self.name}: Redis is reachable again")
        return result


class RecoveringWorker(SimpleWorker):
    """SimpleWorker with short job heartbeats and a scheduler bound to its process."""

    max_connection_wait_time = 10.0  # back on Redis within 10 s of its return (RQ: 60)

    def __init__(self, *args: Any, stop: threading.Event | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
        kwargs.setdefault("job_monitoring_interval", JOB_HEARTBEAT_SECONDS)
        super().__init__(*args, **kwargs)
        self.stop = stop or threading.Event()  # set by a stop request, before or during work()

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        if self.stop.is_set():  # a signal came before RQ's handlers were in place
            self._stop_requested = True

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop.set()
        super().request_stop(signum, frame)

    def clean_registries(self) -> None:
        recover_abandoned(self.connection, self.queue_names())  # first: to the queue's front
        super().clean_registries()

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return JOB_HEARTBEAT_TTL

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        timeout = job.timeout if job.timeout and job.timeout > 0 else 365 * 86400
        with JobHeartbeat(
            lambda: self.maintain_heartbeats(job, execution),
            every=JOB_HEARTBEAT_SECONDS,
            give_up_after=timeout + JOB_HEARTBEAT_TTL,
        ):
            self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        # RQ's own method, with ParentBoundScheduler instead of RQScheduler.
        self.scheduler = ParentBoundScheduler(
            self.queues,
            connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()
