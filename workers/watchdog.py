"""Jobs whose worker died go back to the front of their queue, seconds after it stopped.

A running job's StartedJobRegistry entry is a lease its worker renews every few seconds
(``workers.recovery``). When the lease runs out the worker is gone (killed, out of memory,
machine lost). RQ's ``StartedJobRegistry.cleanup`` then retries the job if it has retries
left (or fails it), acting only on jobs still marked started; its retry waits the job's
retry interval and then joins the back of the queue, behind every job that came in since.
The job already waited its turn once, and may be an anxious caller's 10-minute callback,
so it goes to the front at once instead (still using up one of its retries, so a job that
kills its worker every time ends failed).

The scheduler process runs this every ``WATCHDOG_SECONDS``; workers run it before RQ's own
registry cleanup. RQ's per-queue cleaning lock makes one of them handle a job, once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from core import queues

log = logging.getLogger(__name__)

WATCHDOG_SECONDS = 5
LOCK_SECONDS = 30  # RQ's own holders keep it 899 s; ours expires soon if we die holding it


@dataclass(frozen=True)
class Recovered:
    """A job found abandoned, and its status after recovery (``queued``, ``failed``...)."""

    job_id: str
    queue: str
    outcome: str


def recover_abandoned(
    connection: Redis, queue_names: Iterable[str] = queues.ALL
) -> list[Recovered]:
    """Requeue (at the front) or fail every started job whose worker stopped renewing it."""
    recovered: list[Recovered] = []
    for name in queue_names:
        queue = Queue(name, connection=connection)
        registry = StartedJobRegistry(queue=queue)
        if not registry.get_expired_job_ids():
            continue
        if not connection.set(queue.registry_cleaning_key, 1, nx=True, ex=LOCK_SECONDS):
            continue  # a worker is cleaning this queue right now; next round
        try:
            recovered += _recover(queue, registry)
        finally:
            queue.release_maintenance_lock()
    return recovered


def _recover(queue: Queue, registry: StartedJobRegistry) -> list[Recovered]:
    expired = list(dict.fromkeys(registry.get_expired_job_ids()))
    # Entries left behind by finished jobs expire too; only started ones were abandoned.
    abandoned = [
        job
        for job in Job.fetch_many(expired, connection=queue.connection)
        if job is not None and job.get_status(refresh=False) == JobStatus.STARTED
    ]
    registry.cleanup()  # RQ: a retry is scheduled (retries left) or the job fails
    recovered = []
    for job in abandoned:
        job.refresh()
        status = job.get_status(refresh=False)
        if status == JobStatus.SCHEDULED and queue.scheduled_job_registry.remove(job):
            queue.enqueue_job(job, at_front=True)
            status = job.get_status(refresh=True)
        outcome = status.value if status is not None else "gone"
        recovered.append(Recovered(job.id, queue.name, outcome))
        log.warning(
            "job %s on %s was abandoned by its worker (no heartbeat); now %s, %s retries left",
            job.id,
            queue.name,
            outcome,
            job.retries_left,
        )
    return recovered
