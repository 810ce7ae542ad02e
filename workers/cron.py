"""Periodic jobs: ``python -m workers.cron`` runs RQ's CronScheduler."""

from __future__ import annotations

from rq.cron import CronScheduler

from core import queues
from core.redis_client import get_redis
from workers import jobs
from workers.context import worker_app

SWEEP_SECONDS = 60
PERIODIC = (
    (jobs.sweep_recordings, SWEEP_SECONDS),
    (jobs.sweep_callbacks, SWEEP_SECONDS),
    (jobs.purge_expired_recordings, 3600),
)


def build_scheduler() -> CronScheduler:
    scheduler = CronScheduler(connection=get_redis())
    for job, seconds in PERIODIC:
        spec = queues.JOBS[job.__name__]
        scheduler.register(job, queue_name=spec.queue, interval=seconds, job_timeout=spec.timeout)
    return scheduler


def main() -> None:
    with worker_app().app_context():
        build_scheduler().start()


if __name__ == "__main__":
    main()
