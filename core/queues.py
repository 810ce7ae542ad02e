"""Every background job, declared once, and the one way the domains hand work to a queue.

Jobs are functions in ``workers.jobs`` (the top layer, which imports the domains). A domain
enqueues by job name: RQ imports the function from its dotted path when the job runs, so
no domain ever imports the workers package. Queue, timeout and retry policy live in
``JOBS`` below, not at call sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

from core.redis_client import get_redis

HIGH = "high"  # callback decisions, dialing, escalation: seconds matter
DEFAULT = "default"  # sweeps, housekeeping
TRANSCRIPTION = "transcription"  # Whisper: slow, CPU-bound
ALL = (HIGH, DEFAULT, TRANSCRIPTION)

FAILURE_TTL = 7 * 86400
RESULT_TTL = 3600


@dataclass(frozen=True)
class JobSpec:
    """Where a job runs and how long and how often it may try."""

    queue: str
    timeout: int
    retry_intervals: tuple[int, ...] = ()

    def retry(self) -> Retry | None:
        if not self.retry_intervals:
            return None
        return Retry(max=len(self.retry_intervals), interval=list(self.retry_intervals))


JOBS: dict[str, JobSpec] = {
    "process_recording": JobSpec(TRANSCRIPTION, timeout=900, retry_intervals=(10, 60, 300)),
    "evaluate_callbacks": JobSpec(HIGH, timeout=60, retry_intervals=(1, 5, 30)),
    # place_call refuses to run twice for an attempt, so one retry is harmless.
    "place_call": JobSpec(HIGH, timeout=60, retry_intervals=(2,)),
    "escalate_task": JobSpec(HIGH, timeout=60, retry_intervals=(5, 30, 120)),
    # A survey call kept for the callee's calling hours; claimed once, so never retried.
    "place_survey_request": JobSpec(HIGH, timeout=60),
    "sweep_survey_requests": JobSpec(DEFAULT, timeout=300),
    "sweep_recordings": JobSpec(DEFAULT, timeout=300),
    "sweep_callbacks": JobSpec(HIGH, timeout=300),
    "purge_expired_recordings": JobSpec(DEFAULT, timeout=1800),
    # Text exchanges past their time (a text survey ends as partial, its answers kept).
    "expire_text_conversations": JobSpec(DEFAULT, timeout=300),
    # Texts stored and never answered (texts.stranded): each claimed once, never retried.
    "answer_stranded_texts": JobSpec(DEFAULT, timeout=300),
    # "Did we put it right?" after a callback: claimed once, so a retry never sends twice.
    "send_follow_up": JobSpec(DEFAULT, timeout=60, retry_intervals=(30, 120)),
    "sweep_follow_ups": JobSpec(DEFAULT, timeout=300),
    # Themes: after each analysed comment and every few minutes; one runs at a time (a lock).
    "assign_themes": JobSpec(DEFAULT, timeout=1800, retry_intervals=(60, 300)),
    "alert_rising_themes": JobSpec(DEFAULT, timeout=300, retry_intervals=(60,)),
}


def job_path(name: str) -> str:
    """The dotted path RQ imports for a job name."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; declare it in core.queues.JOBS")
    return f"workers.jobs.{name}"


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    return Queue(name, connection=connection if connection is not None else get_redis())


def enqueue(
    name: str,
    *args: Any,
    job_id: str | None = None,
    at: datetime | None = None,
    connection: Redis | None = None,
) -> Job:
    """Enqueue job ``name`` with ids as arguments, now or at ``at`` (after your commit)."""
    spec = JOBS[name]
    queue = get_queue(spec.queue, connection)
    options: dict[str, Any] = {
        "job_id": job_id,
        "job_timeout": spec.timeout,
        "retry": spec.retry(),
        "failure_ttl": FAILURE_TTL,
        "result_ttl": RESULT_TTL,
    }
    if at is not None:
        return queue.enqueue_at(at, job_path(name), *args, **options)
    return queue.enqueue(job_path(name), *args, **options)


def job_is_pending(job_id: str, connection: Redis | None = None) -> bool:
    """True when a job with this id is queued, scheduled, deferred or running."""
    try:
        job = Job.fetch(job_id, connection=connection if connection is not None else get_redis())
    except Exception:  # NoSuchJobError, or a job that can no longer be deserialised
        return False
    status = job.get_status(refresh=False)
    return status is not None and status.value in {"queued", "started", "scheduled", "deferred"}
