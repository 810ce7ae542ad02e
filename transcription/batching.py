"""A transcription worker's batch: the recording it was given plus the ones queued behind it.

Recordings arrive in bursts when calls end. The ``process_recording`` job for one recording
(the batch's leader) takes the other ``process_recording`` jobs still waiting in the
transcription queue, up to ``WHISPER_BATCH_SIZE`` in all, and runs every stage for all of
them: each downloaded, all decoded in one ``Engine.transcribe_many``, each read and handed
to ``then`` (the callback rules) at once.

Exactly once: a waiting job is taken by an atomic Redis script that removes it from the
queue and adds its recording to the leader's batch list in one step, so it is in the queue
or in exactly one batch, never both and never neither. The taken job is then deleted; the
leader's job, with its heartbeat lease, now stands for the whole batch. If the worker dies,
the watchdog retries the leader, which reads its batch list back and finishes the members
too (the pipeline's stages are idempotent, so only what is left is done). Only after every
member is done is the list dropped. A leader that fails for good leaves its members to the
recording sweep, which re-enqueues unfinished recordings whose job is gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from flask import current_app
from redis import Redis
from rq import get_current_job
from rq.job import Job

from core import queues
from core.db import db
from core.models import Recording, RecordingStatus
from core.redis_client import get_redis
from transcription import pipeline
from transcription.engines import EngineSettings

log = logging.getLogger(__name__)

JOB = "process_recording"
BATCH_TTL_SECONDS = 86_400  # outlives the leader's retries; dropped when the batch is done
POLL_SECONDS = 0.05

# KEYS: queue, batch list. ARGV: job id, recording id, ttl. 1 when this caller took the job.
_TAKE = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[3])
    return 1
end
return 0
"""


def batch_key(leader_job_id: str) -> str:
    return f"recording-batch:{leader_job_id}"


def process_with_queued(
    recording_id: int, then: Callable[[Recording], None] | None = None
) -> Recording | None:
    """The ``process_recording`` job's work: this recording and those queued behind it.

    Outside an RQ job (a direct call) only this recording is processed.

    Args:
        recording_id: The recording the job was enqueued for.
        then: Called with each recording once it has been read (``ANALYSED``).

    Returns:
        This recording's row, or None if it no longer exists.
    """
    job = get_current_job()
    if job is None:
        return process_many([recording_id], then).get(recording_id)
    cfg = current_app.config
    connection = get_redis()
    key = batch_key(job.id)
    size = EngineSettings.from_config(cfg).batch_size
    members = [int(m) for m in connection.lrange(key, 0, -1)]  # a retried leader's batch
    members += take_queued(
        key,
        limit=size - 1 - len(members),
        wait_seconds=cfg.get("TRANSCRIPTION_BATCH_WAIT_MS", 0) / 1000,
        connection=connection,
    )
    if members:
        log.info("recording %s: decoding with %s queued recording(s)", recording_id, len(members))
    done = process_many([recording_id, *dict.fromkeys(members)], then)
    connection.delete(key)
    return done.get(recording_id)


def take_queued(
    key: str, limit: int, wait_seconds: float = 0.0, connection: Redis | None = None
) -> list[int]:
    """Take up to ``limit`` waiting ``process_recording`` jobs into the batch list ``key``.

    Waits up to ``wait_seconds`` for more to arrive when fewer are queued. Each job taken is
    deleted from RQ once its recording is safely on the list.

    Returns:
        The recording ids taken, in queue order.
    """
    connection = connection if connection is not None else get_redis()
    queue = queues.get_queue(queues.JOBS[JOB].queue, connection)
    take = connection.register_script(_TAKE)
    path = queues.job_path(JOB)
    deadline = time.monotonic() + wait_seconds
    taken: list[int] = []
    seen: set[str] = set()
    while len(taken) < limit:
        waiting = [i for i in queue.get_job_ids(0, limit * 4) if i not in seen]
        seen.update(waiting)
        for job in Job.fetch_many(waiting, connection=connection):
            if job is None or job.func_name != path or len(taken) >= limit:
                continue
            recording_id = int(job.args[0])
            if take(keys=[queue.key, key], args=[job.id, recording_id, BATCH_TTL_SECONDS]):
                taken.append(recording_id)
                job.delete(remove_from_queue=False)
        if len(taken) >= limit or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    return taken


def process_many(
    recording_ids: list[int], then: Callable[[Recording], None] | None = None
) -> dict[int, Recording]:
    """Run every stage left for each recording, decoding them together.

    Each stage commits per recording as in :func:`transcription.pipeline.process`, so a
    rerun does only what is left.

    Returns:
        The rows that still exist, by id.
    """
    recs: dict[int, Recording] = {}
    for recording_id in recording_ids:
        rec = db.session.get(Recording, recording_id)
        if rec is None:
            log.warning("recording %s no longer exists", recording_id)
            continue
        recs[recording_id] = rec
        if rec.status is RecordingStatus.PENDING:
            pipeline.fetch_media(rec)
    pipeline.transcribe_many([r for r in recs.values() if r.status is RecordingStatus.DOWNLOADED])
    for rec in recs.values():
        if rec.status is RecordingStatus.TRANSCRIBED:
            pipeline.analyse(rec)
        if rec.status is RecordingStatus.ANALYSED and then is not None:
            then(rec)
    return recs
