"""The recording pipeline, in one place: Twilio's callback registers the row, a claim
enqueues it exactly once, and the job downloads, transcribes and reads the comment.

claim -> enqueue (``process_recording`` job) -> download -> transcribe -> read; the job in
``workers.jobs`` then hands the call to the callback rules. Each stage commits its result
and the status says which stages are done, so a rerun only does what is left.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import exists, or_, update

from core import contacts, events, queues
from core.db import db, utcnow
from core.models import CallSession, Event, Recording, RecordingStatus
from transcription import storage, twilio_recordings
from transcription.analysis import analyse_comment
from transcription.audio import AudioError, decode_to_pcm16k
from transcription.engines import EngineSettings, get_engine
from transcription.media import MediaError, download
from transcription.retention import delete_twilio_copy
from transcription.vocabulary import for_survey

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=15)  # a claimed recording with no live job after this is retried
CALLBACK_GRACE = timedelta(minutes=5)  # Twilio's callbacks come within seconds; after this, ask
LONGEST_CALL = timedelta(hours=1)  # a survey call "in progress" for longer lost its end
LOOKBACK = timedelta(days=1)  # how far back the sweep asks Twilio about missed recordings
LOOKUP_EVENT = "recording.lookup"
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
        queues.enqueue("process_recording", recording_id, job_id=job_id(rec))
    except RedisError:
        log.exception("could not enqueue recording %s; the sweep will retry", rec.recording_sid)
        rec.enqueued_at = None
        db.session.commit()
        return False
    return True


def sweep(now: datetime | None = None) -> int:
    """Make sure every recording not yet analysed gets a job, whatever went missing.

    Run every minute by the scheduler. Twilio never retries a recording callback we failed
    to store (database down), so beyond re-enqueuing ready recordings with no live job
    (Redis was down, a worker died) it asks Twilio about what we could not hear: calls
    that recorded a comment but have no recording row, and recordings Twilio never said
    were ready. Returns how many recordings were enqueued.
    """
    now = now or utcnow()
    recover_unregistered(now)
    settle_unready(now)
    return requeue_idle(now)


def requeue_idle(now: datetime) -> int:
    """Enqueue unfinished recordings whose media is ready but which have no live job."""
    candidates = db.session.scalars(
        db.select(Recording)
        .where(Recording.status.in_(UNFINISHED))
        .where(or_(Recording.media_ready.is_(True), Recording.status != RecordingStatus.PENDING))
        .order_by(Recording.id)
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


def recover_unregistered(now: datetime) -> int:
    """Register the recordings of recent calls that recorded a comment but have no row.

    A call counts once it has ended (or is too old to be running), a few minutes on, so a
    late callback still wins. Each call is looked up once (the ``recording.lookup`` event),
    unless Twilio could not be asked, in which case the next sweep tries again.
    """
    has_recording = exists().where(Recording.session_id == CallSession.id)
    looked_up = exists().where(Event.session_id == CallSession.id).where(Event.kind == LOOKUP_EVENT)
    sessions = db.session.scalars(
        db.select(CallSession)
        .where(CallSession.consent_recording.is_(True))  # the <Record> was served
        .where(CallSession.created_at >= now - LOOKBACK)
        .where(
            or_(
                CallSession.ended_at <= now - CALLBACK_GRACE,
                CallSession.created_at <= now - LONGEST_CALL,  # its end was lost too
            )
        )
        .where(~has_recording)
        .where(~looked_up)
        .order_by(CallSession.id)
    ).all()
    found = 0
    for session in sessions:
        try:
            held = twilio_recordings.recordings_of_call(session.call_sid)
        except twilio_recordings.TwilioUnavailable as exc:
            log.warning("recording sweep: cannot list Twilio's recordings (%s); later", exc)
            break
        for item in held:
            adopt(register(session, item.sid, item.media_url, item.duration), item, now)
        events.record(
            LOOKUP_EVENT,
            session=session,
            data={"recording_sids": [item.sid for item in held]},
            dedupe_key=f"{LOOKUP_EVENT}:{session.id}",
        )
        db.session.commit()
        found += len(held)
    if found:
        log.warning("recording sweep: recovered %s recording(s) whose callback was lost", found)
    return found


def settle_unready(now: datetime) -> None:
    """Ask Twilio about pending recordings it never told us were ready."""
    waiting = db.session.scalars(
        db.select(Recording)
        .where(Recording.status == RecordingStatus.PENDING)
        .where(Recording.media_ready.is_(False))
        .where(Recording.created_at <= now - CALLBACK_GRACE)
        .order_by(Recording.id)
    ).all()
    for rec in waiting:
        try:
            item = twilio_recordings.recording(rec.recording_sid)
        except twilio_recordings.TwilioUnavailable as exc:
            log.warning("recording sweep: cannot ask Twilio about recordings (%s); later", exc)
            return
        adopt(rec, item, now)
        db.session.commit()


def adopt(rec: Recording, item: twilio_recordings.TwilioRecording, now: datetime) -> None:
    """Take over what Twilio says of a recording whose callback we missed (no commit)."""
    if rec.status is not RecordingStatus.PENDING or rec.media_ready:
        return
    if item.ready:
        rec.media_ready = True
        rec.media_url = rec.media_url or item.media_url
        if rec.duration_seconds is None:
            rec.duration_seconds = _int(item.duration)
    elif item.gone:
        rec.status = RecordingStatus.FAILED
        rec.failure_reason = f"Twilio reports the recording as {item.status}"
    elif rec.created_at < now - LOOKBACK:
        rec.status = RecordingStatus.FAILED
        rec.failure_reason = f"Twilio still reports the recording as {item.status} after a day"
    else:
        return
    events.record(
        "recording.recovered",
        session=rec.session,
        data={"recording_sid": rec.recording_sid, "status": item.status},
        dedupe_key=f"recording-recovered:{rec.recording_sid}",
    )


def process(recording_id: int) -> Recording | None:
    """Download, transcribe and read a comment; returns the row (None if it is gone).

    Each stage commits its result and the status says which stages are done, so a job
    that runs again (retry, worker killed mid-way, duplicate enqueue) only does what is
    left, and every stage's effect happens once.
    """
    rec = db.session.get(Recording, recording_id)
    if rec is None:
        log.warning("recording %s no longer exists", recording_id)
        return None
    if rec.status is RecordingStatus.PENDING:
        fetch_media(rec)
    if rec.status is RecordingStatus.DOWNLOADED:
        transcribe(rec)
    if rec.status is RecordingStatus.TRANSCRIBED:
        analyse(rec)
    return rec


def fetch_media(rec: Recording) -> None:
    """Download Twilio's media into our storage (``RECORDING_STORAGE``)."""
    cfg = current_app.config
    if not rec.media_url:
        fail(rec, "Twilio never told us where the recording is")
        return
    store = storage.configured()
    rec.download_attempts += 1
    db.session.commit()
    with tempfile.TemporaryDirectory(prefix="recording-") as scratch:
        part = Path(scratch) / "media"
        try:
            size = download(
                rec.media_url,
                (cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"]),
                part,
                max_bytes=cfg["RECORDING_MAX_BYTES"],
                retry_delays=cfg.get("MEDIA_RETRY_DELAYS", (1.0, 3.0)),
            )
        except MediaError as exc:
            fail(rec, exc.reason)
            return
        with part.open("rb") as media:
            store.put(rec.recording_sid, media)
    # One commit: a database copy and the row pointing at it are stored together.
    rec.local_path = store.location(rec.recording_sid)
    rec.size_bytes = size
    rec.status = RecordingStatus.DOWNLOADED
    db.session.commit()
    verified = store.exists(rec.recording_sid)
    if cfg["DELETE_TWILIO_RECORDING_AFTER_DOWNLOAD"] and verified and delete_twilio_copy(rec):
        db.session.commit()


def transcribe(rec: Recording) -> None:
    transcribe_many([rec])


def transcribe_many(recs: list[Recording]) -> None:
    """The transcribe stage of several recordings, decoded together (a worker's batch)."""
    cfg = current_app.config
    loaded = [(rec, audio) for rec in recs if (audio := _load_audio(rec)) is not None]
    if not loaded:
        return
    engine = get_engine(EngineSettings.from_config(cfg))  # loaded once per worker process
    terms = [
        for_survey(version.vocabulary if version else None, cfg.get("WHISPER_VOCABULARY"))
        for version in (rec.session.survey_version for rec, _ in loaded)
    ]
    transcripts = engine.transcribe_many([audio for _, audio in loaded], terms)
    for (rec, _), transcript in zip(loaded, transcripts, strict=True):
        rec.transcript = transcript.text
        rec.transcript_engine = transcript.engine
        rec.status = RecordingStatus.TRANSCRIBED
    db.session.commit()


def _load_audio(rec: Recording) -> np.ndarray | None:
    """Our copy of the comment as 16 kHz samples; None when it is gone or unreadable
    (the recording is then failed with the reason)."""
    cfg = current_app.config
    held = storage.for_location(rec.local_path)
    if held is None or not held.exists(rec.recording_sid):
        fail(rec, "our copy of the audio is gone, so it cannot be transcribed")
        return None
    try:
        with held.as_file(rec.recording_sid) as path:
            return decode_to_pcm16k(
                path,
                max_seconds=cfg["RECORDING_MAX_SECONDS"],
                max_bytes=cfg["RECORDING_MAX_BYTES"],
            )
    except AudioError as exc:
        fail(rec, exc.reason)
        return None


def analyse(rec: Recording) -> None:
    result = analyse_comment(rec.transcript or "")
    rec.analysis = result.to_dict()
    rec.status = RecordingStatus.ANALYSED
    if "opt_out" in result.flagged():
        # "Stop calling me" in a comment counts as much as pressing 9.
        contacts.opt_out(rec.session.contact, source="comment", session=rec.session)
    db.session.commit()


def fail(rec: Recording, reason: str) -> None:
    log.error("recording %s failed: %s", rec.recording_sid, reason)
    rec.status = RecordingStatus.FAILED
    rec.failure_reason = reason
    db.session.commit()
