"""The scheduler process's watchdog: jobs whose worker died go back to RQ's retry.

A running job's StartedJobRegistry entry is a lease its worker renews every few seconds
(``workers.recovery``). When the lease runs out the worker is gone (killed, out of
memory, machine lost); RQ's ``StartedJobRegistry.cleanup`` then retries the job if it has
retries left (or fails it), and enqueues nothing twice: it only acts on jobs still marked
started. Workers run the same cleanup between jobs; the watchdog runs it every few
seconds from the scheduler process, so recovery does not wait for an idle worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from redis import Redis
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from core import queues

log = logging.getLogger(__name__)

WATCHDOG_SECONDS = 5


@dataclass(frozen=True)
class Recovered:
    """A job found abandoned, and what RQ did with it (``scheduled``, ``queued``, ``failed``)."""

    job_id: str
    queue: str
    outcome: str


def recover_abandoned(
    connection: Redis, queue_names: Iterable[str] = queues.ALL
) -> list[Recovered]:
    """Retry (or fail) every started job whose worker stopped renewing its lease."""
    recovered = []
    for name in queue_names:
        registry = StartedJobRegistry(name, connection=connection)
        expired = list(dict.fromkeys(registry.get_expired_job_ids()))
        if not expired:
            continue
        # Entries left behind by finished jobs expire too; only started ones were abandoned.
        abandoned = [
            job
            for job in Job.fetch_many(expired, connection=connection)
            if job is not None and job.get_status(refresh=False) == JobStatus.STARTED
        ]
        registry.cleanup()
        for job in abandoned:
            status = job.get_status(refresh=True)
            outcome = status.value if status is not None else "gone"
            recovered.append(Recovered(job.id, name, outcome))
            log.warning(
                "job %s on %s was abandoned by its worker (no heartbeat); now %s",
                job.id,
                name,
                outcome,
            )
    return recovered
