"""The scheduler process, ``python -m workers.cron`` (run exactly one).

It enqueues the periodic jobs (RQ's CronScheduler) and, every few seconds, runs the
watchdog that retries jobs whose worker died (``workers.watchdog``). It waits for the
database and Redis at start and rides out Redis restarts: a failed round is reported (once
a minute) and tried again, instead of ending the process with a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq.cron import CronScheduler

from core import queues
from core.redis_client import get_redis
from workers import jobs
from workers.context import worker_app
from workers.readiness import OutageReport, stop_on_signals, wait_for_services
from workers.watchdog import WATCHDOG_SECONDS, recover_abandoned

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60
PERIODIC = (
    (jobs.sweep_recordings, SWEEP_SECONDS),
    (jobs.sweep_callbacks, SWEEP_SECONDS),
    (jobs.sweep_survey_requests, SWEEP_SECONDS),
    (jobs.sweep_follow_ups, SWEEP_SECONDS),
    (jobs.purge_expired_recordings, 3600),
    (jobs.expire_text_conversations, SWEEP_SECONDS),
    (jobs.answer_stranded_texts, SWEEP_SECONDS),
    (jobs.assign_themes, 300),  # the safety net; each analysed comment enqueues it too
    (jobs.alert_rising_themes, 3600),
)


def build_scheduler(connection: Redis | None = None) -> CronScheduler:
    scheduler = CronScheduler(connection=connection if connection is not None else get_redis())
    for job, seconds in PERIODIC:
        spec = queues.JOBS[job.__name__]
        scheduler.register(job, queue_name=spec.queue, interval=seconds, job_timeout=spec.timeout)
    return scheduler


def run(scheduler: CronScheduler, stop: threading.Event) -> None:
    """Enqueue due periodic jobs and run the watchdog until ``stop`` is set.

    CronScheduler.start() does the same rounds but ends on the first Redis error; a
    round that fails here is simply tried again.
    """
    outage = OutageReport(log)
    registered = False
    while not stop.is_set():
        try:
            if not registered:
                scheduler.register_birth()
                registered = True
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            recover_abandoned(scheduler.connection)
            outage.resolved("Redis is reachable again")
        except RedisError as exc:
            outage.problem(f"scheduler round failed, Redis unreachable ({exc})")
        stop.wait(min(scheduler.calculate_sleep_interval(), WATCHDOG_SECONDS))
    if registered:
        with contextlib.suppress(RedisError):  # else its registry entry expires on its own
            scheduler.register_death()


def main() -> None:
    stop = threading.Event()
    stop_on_signals(stop)
    app = worker_app()
    if not wait_for_services(app, stop):
        return
    with app.app_context():
        run(build_scheduler(), stop)


if __name__ == "__main__":
    main()
