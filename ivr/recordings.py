"""Recording rows from Twilio's callbacks, and handing them to the worker exactly once."""

from __future__ import annotations

import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import update

from ivr import events
from ivr.db import db, utcnow
from ivr.models import CallSession, Recording, RecordingStatus
from workers import queues

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=15)  # a claimed recording with no live job after this is retried
UNFINISHED = (RecordingStatus.PENDING, RecordingStatus.DOWNLOADED, RecordingStatus.TRANSCRIBED)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def register(
    session: CallSession, sid: str, media_url: str | None, duration: str | None
) -> Recording:
    """The recording row for a RecordingSid, created once whichever callback comes first."""
    rec = db.session.scalar(db.select(Recording).where(Recording.recording_sid == sid))
    if rec is None:
        rec = events.insert_or_get(
            Recording(
                recording_sid=sid,
                session_id=session.id,
                media_url=media_url,
                duration_seconds=_int(duration),
                consent_given=bool(session.consent_recording),
            ),
            Recording.recording_sid == sid,
        )
    if media_url and not rec.media_url:
        rec.media_url = media_url
    if rec.duration_seconds is None:
        rec.duration_seconds = _int(duration)
    return rec


def job_id(rec: Recording) -> str:
    return f"recording-{rec.recording_sid}"


def on_status_callback(session: CallSession, form: dict[str, str]) -> Recording | None:
    """Twilio's recordingStatusCallback: store the row, then (after commit) enqueue it once."""
    sid = form.get("RecordingSid", "")
    if not sid:
        return None
    rec = register(session, sid, form.get("RecordingUrl"), form.get("RecordingDuration"))
    status = form.get("RecordingStatus", "completed")
    if status == "completed":
        rec.media_ready = True
    elif status in ("failed", "absent") and rec.status is RecordingStatus.PENDING:
        rec.status = RecordingStatus.FAILED
        rec.failure_reason = f"Twilio reported the recording as {status}"
    events.record(
        "recording.callback",
        session=session,
        data={"recording_sid": sid, "status": status},
        dedupe_key=f"recording:{sid}:{status}",
    )
    db.session.commit()
    if rec.media_ready:
        enqueue_processing(rec.id)
    return rec


def enqueue_processing(recording_id: int) -> bool:
    """Claim the recording (one winner even with duplicate callbacks), then enqueue its job.

    If Redis is down the claim is released and the periodic sweep enqueues it later.
    """
    from workers.jobs import process_recording

    claimed = db.session.execute(
        update(Recording)
        .where(Recording.id == recording_id)
        .where(Recording.enqueued_at.is_(None))
        .where(Recording.status.in_(UNFINISHED))
        .values(enqueued_at=utcnow())
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    rec = db.session.get(Recording, recording_id)
    assert rec is not None
    try:
        queues.enqueue(
            process_recording,
            recording_id,
            queue=queues.TRANSCRIPTION,
            job_id=job_id(rec),
            timeout=900,
            retry=Retry(max=3, interval=[10, 60, 300]),
        )
    except RedisError:
        log.exception("could not enqueue recording %s; the sweep will retry", rec.recording_sid)
        rec.enqueued_at = None
        db.session.commit()
        return False
    return True


def sweep() -> int:
    """Enqueue recordings that are ready but have no live job (Redis was down, worker died)."""
    now = utcnow()
    candidates = db.session.scalars(
        db.select(Recording)
        .where(Recording.media_ready.is_(True))
        .where(Recording.status.in_(UNFINISHED))
    ).all()
    enqueued = 0
    for rec in candidates:
        if rec.enqueued_at is not None:
            if now - rec.enqueued_at < STALE_AFTER or queues.job_is_pending(job_id(rec)):
                continue
            rec.enqueued_at = None
            db.session.commit()
        enqueued += enqueue_processing(rec.id)
    return enqueued
