"""Queue names and the one way the app enqueues work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.job import Job

HIGH = "high"  # callback decisions and dialing: seconds matter
DEFAULT = "default"  # downloads, sweeps, housekeeping
TRANSCRIPTION = "transcription"  # Whisper: slow, CPU-bound
ALL = (HIGH, DEFAULT, TRANSCRIPTION)


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    if connection is None:
        from ivr.redis_client import get_redis

        connection = get_redis()
    return Queue(name, connection=connection)


def enqueue(
    func: Callable[..., Any],
    *args: Any,
    queue: str = DEFAULT,
    job_id: str | None = None,
    timeout: int = 300,
    retry: Retry | None = None,
    failure_ttl: int = 7 * 86400,
    connection: Redis | None = None,
) -> Job:
    """Enqueue a job by ids, with the timeout, retry and failure TTL stated at the call."""
    return get_queue(queue, connection).enqueue(
        func,
        *args,
        job_id=job_id,
        job_timeout=timeout,
        retry=retry,
        failure_ttl=failure_ttl,
        result_ttl=3600,
    )


def job_is_pending(job_id: str, connection: Redis | None = None) -> bool:
    """True when a job with this id is queued, scheduled, deferred or running."""
    if connection is None:
        from ivr.redis_client import get_redis

        connection = get_redis()
    try:
        job = Job.fetch(job_id, connection=connection)
    except Exception:  # NoSuchJobError, or a job that can no longer be deserialised
        return False
    status = job.get_status(refresh=False)
    return status is not None and status.value in {"queued", "started", "scheduled", "deferred"}
