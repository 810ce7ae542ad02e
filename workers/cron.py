"""Periodic jobs: ``python -m workers.cron`` runs RQ's CronScheduler."""

from __future__ import annotations

from rq.cron import CronScheduler

from callbacks.jobs import sweep_callbacks
from ivr.dashboard.retention import purge_expired_recordings
from ivr.redis_client import get_redis
from workers import jobs, queues
from workers.context import worker_app

SWEEP_SECONDS = 60


def build_scheduler() -> CronScheduler:
    scheduler = CronScheduler(connection=get_redis())
    scheduler.register(jobs.sweep_recordings, queue_name=queues.DEFAULT, interval=SWEEP_SECONDS)
    scheduler.register(purge_expired_recordings, queue_name=queues.DEFAULT, interval=3600)
    scheduler.register(sweep_callbacks, queue_name=queues.HIGH, interval=SWEEP_SECONDS)
    return scheduler


def main() -> None:
    with worker_app().app_context():
        build_scheduler().start()


if __name__ == "__main__":
    main()
